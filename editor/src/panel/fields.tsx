import { useEffect, useState } from 'react';
import type { FieldProps, WidgetProps } from '@rjsf/utils';
import { CodeEditor, type CodeLanguage } from './CodeEditor';
import { parseLenient, parseStrict, showLenient, showStrict } from './jsonText';

/** rjsf widget: a code string (python `code`, shell `command`) in CodeMirror. */
export function CodeWidget(props: WidgetProps) {
  const language = (props.options.language as CodeLanguage | undefined) ?? 'text';
  return (
    <CodeEditor
      value={typeof props.value === 'string' ? props.value : ''}
      onChange={(value) => props.onChange(value)}
      language={language}
      readOnly={props.readonly || props.disabled}
      label={props.label || props.name}
      testId={`field-${props.name}`}
      minHeight="140px"
    />
  );
}

/**
 * rjsf field: any JSON value edited as JSON text. The value changes only when the text
 * parses, so a half-typed document never reaches the flow. A lenient field (its schema sets
 * no type) takes text that is not JSON as a string, so a template is typed as it is.
 */
export function JsonField(props: FieldProps) {
  const lenient = props.uiSchema?.['ui:options']?.lenient === true;
  const pretty = lenient ? showLenient : showStrict;
  const parse = lenient ? parseLenient : parseStrict;
  const [text, setText] = useState(() => pretty(props.formData));
  const [parseError, setParseError] = useState<string | null>(null);

  // Take outside changes (undo, another revision) unless they are what the text already says.
  useEffect(() => {
    setText((current) => {
      const parsed = parse(current);
      if (parsed.ok && JSON.stringify(parsed.value) === JSON.stringify(props.formData)) return current;
      return pretty(props.formData);
    });
  }, [props.formData, parse, pretty]);

  const title = props.schema.title ?? props.name;
  const errors = [...(parseError ? [parseError] : []), ...(props.rawErrors ?? [])];
  return (
    <div className="json-field form-group">
      <label className="control-label" htmlFor={props.fieldPathId.$id}>
        {title}
        {props.required ? <span className="required">*</span> : null}
      </label>
      {props.schema.description ? <p className="field-description">{props.schema.description}</p> : null}
      <CodeEditor
        value={text}
        language="json"
        readOnly={props.readonly || props.disabled}
        label={lenient ? `${title} (JSON, or text for a string)` : `${title} (JSON)`}
        testId={`field-${props.name}`}
        onChange={(next) => {
          setText(next);
          if (next.trim() === '') {
            setParseError(null);
            props.onChange(undefined, props.fieldPathId.path);
            return;
          }
          const parsed = parse(next);
          if (parsed.ok) {
            setParseError(null);
            props.onChange(parsed.value, props.fieldPathId.path);
          } else {
            setParseError(parsed.error);
          }
        }}
      />
      {errors.length ? (
        <ul className="field-errors" role="alert">
          {errors.map((error) => (
            <li key={error}>{error}</li>
          ))}
        </ul>
      ) : null}
    </div>
  );
}
