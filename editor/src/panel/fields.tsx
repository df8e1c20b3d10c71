import { useEffect, useState } from 'react';
import type { FieldProps, WidgetProps } from '@rjsf/utils';
import { CodeEditor, type CodeLanguage } from './CodeEditor';

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
 * parses, so a half-typed document never reaches the flow.
 */
export function JsonField(props: FieldProps) {
  const pretty = (value: unknown) => (value === undefined ? '' : JSON.stringify(value, null, 2));
  const [text, setText] = useState(() => pretty(props.formData));
  const [parseError, setParseError] = useState<string | null>(null);

  // Take outside changes (undo, another revision) unless they are what the text already says.
  useEffect(() => {
    setText((current) => {
      try {
        if (JSON.stringify(JSON.parse(current)) === JSON.stringify(props.formData)) return current;
      } catch {
        // the current text does not parse: replace it
      }
      return pretty(props.formData);
    });
  }, [props.formData]);

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
        label={`${title} (JSON)`}
        testId={`field-${props.name}`}
        onChange={(next) => {
          setText(next);
          if (next.trim() === '') {
            setParseError(null);
            props.onChange(undefined, props.fieldPathId.path);
            return;
          }
          try {
            const parsed: unknown = JSON.parse(next);
            setParseError(null);
            props.onChange(parsed, props.fieldPathId.path);
          } catch (error) {
            setParseError(`Not valid JSON yet: ${(error as Error).message}`);
          }
        }}
      />
      {errors.length ? (
        <ul className="field-errors" role="alert">
          {errors.map((error) => <li key={error}>{error}</li>)}
        </ul>
      ) : null}
    </div>
  );
}
