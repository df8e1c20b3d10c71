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

/** Title, required mark and description of a custom field, as rjsf's own fields show them. */
function FieldHead(props: FieldProps) {
  return (
    <>
      <label className="control-label" htmlFor={props.fieldPathId.$id}>
        {props.schema.title ?? props.name}
        {props.required ? <span className="required">*</span> : null}
      </label>
      {props.schema.description ? <p className="field-description">{props.schema.description}</p> : null}
    </>
  );
}

function FieldErrors({ errors }: { errors: readonly string[] }) {
  return errors.length ? (
    <ul className="field-errors" role="alert">
      {errors.map((error) => (
        <li key={error}>{error}</li>
      ))}
    </ul>
  ) : null;
}

type Row = { key: string; value: string };

function rowsOf(value: unknown): Row[] {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return [];
  return Object.entries(value as Record<string, unknown>).map(([key, v]) => ({ key, value: String(v ?? '') }));
}

function objectOf(rows: readonly Row[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const row of rows) if (row.key.trim()) out[row.key.trim()] = row.value;
  return out;
}

/**
 * rjsf field: an object of text values (headers, query, env) as rows of name and value, one
 * row more to add. Values are templates. An object holding something other than text (a
 * list in `query`) stays a JSON field, so nothing is lost.
 */
export function KeyValueField(props: FieldProps) {
  const [rows, setRows] = useState<Row[]>(() => rowsOf(props.formData));
  // Outside changes (undo, another revision) replace the rows unless the rows already say it.
  useEffect(() => {
    setRows((current) =>
      JSON.stringify(objectOf(current)) === JSON.stringify(props.formData ?? {}) ? current : rowsOf(props.formData),
    );
  }, [props.formData]);
  const data = props.formData as Record<string, unknown> | undefined;
  if (data && Object.values(data).some((v) => v !== null && typeof v === 'object')) return <JsonField {...props} />;

  const readOnly = props.readonly || props.disabled;
  const pattern = (props.schema.propertyNames as { pattern?: string } | undefined)?.pattern;
  const badKey = (key: string) => !!key && !!pattern && !new RegExp(pattern).test(key);
  const commit = (next: Row[]) => {
    setRows(next);
    const value = objectOf(next);
    props.onChange(Object.keys(value).length ? value : undefined, props.fieldPathId.path);
  };
  const shown = readOnly ? rows : [...rows, { key: '', value: '' }];
  const label = props.schema.title ?? props.name;
  return (
    <div className="keyvalue-field form-group" data-testid={`field-${props.name}`}>
      <FieldHead {...props} />
      <div className="keyvalue-rows">
        {shown.map((row, index) => (
          <div className="keyvalue-row" key={index}>
            <input
              aria-label={`${label}: name ${index + 1}`}
              placeholder="name"
              value={row.key}
              readOnly={readOnly}
              aria-invalid={badKey(row.key)}
              onChange={(e) => commit(Object.assign([...rows], { [index]: { ...row, key: e.target.value } }))}
            />
            <input
              aria-label={`${label}: value ${index + 1}`}
              placeholder="value"
              value={row.value}
              readOnly={readOnly}
              onChange={(e) => commit(Object.assign([...rows], { [index]: { ...row, value: e.target.value } }))}
            />
            {!readOnly && index < rows.length ? (
              <button
                type="button"
                className="icon-button"
                aria-label={`Remove ${row.key || `row ${index + 1}`}`}
                onClick={() => commit(rows.filter((_r, i) => i !== index))}
              >
                ×
              </button>
            ) : (
              <span className="keyvalue-spacer" />
            )}
          </div>
        ))}
      </div>
      <FieldErrors
        errors={[
          ...rows.filter((r) => badKey(r.key)).map((r) => `“${r.key}” is not a valid name.`),
          ...(props.rawErrors ?? []),
        ]}
      />
    </div>
  );
}

/** A value or list as one line of text: lists joined with commas. */
export function listText(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (Array.isArray(value)) return value.map((v) => String(v)).join(', ');
  return String(value);
}

/**
 * The text typed back as a value: several comma-separated items become a list, one item stays
 * text. A template (`{{ }}`) is never split, commas in it belong to the expression.
 */
export function parseListText(text: string): string | string[] | undefined {
  const trimmed = text.trim();
  if (!trimmed) return undefined;
  if (trimmed.includes('{{') || !trimmed.includes(',')) return trimmed;
  const items = trimmed
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);
  return items.length === 1 ? items[0] : items;
}

const CUSTOM = '__custom__';

/**
 * rjsf field: a value that is one item or a list of them (email's `to`, http's
 * `expect_status`), typed as one line with commas between items; with presets, a labelled
 * choice first ("2xx (success)", "Any status") and "Other…" to type one.
 */
export function TextListField(props: FieldProps) {
  const presets = (props.uiSchema?.['ui:options']?.presets as { value: string; label: string }[] | undefined) ?? [];
  const current = listText(props.formData);
  const [text, setText] = useState(current);
  const [custom, setCustom] = useState(false);
  useEffect(() => {
    setText((mine) => (listText(parseListText(mine)) === current ? mine : current));
  }, [current]);
  const readOnly = props.readonly || props.disabled;
  const matched = presets.find((p) => p.value === current);
  const defaultValue = props.schema.default === undefined ? '' : listText(props.schema.default);
  const defaultIsPreset = presets.some((p) => p.value === defaultValue);
  const showText = !presets.length || custom || (!matched && current !== '');
  const label = props.schema.title ?? props.name;
  return (
    <div className="textlist-field form-group">
      <FieldHead {...props} />
      {presets.length ? (
        <select
          id={props.fieldPathId.$id}
          aria-label={label}
          disabled={readOnly}
          data-testid={`field-${props.name}-choice`}
          value={showText ? CUSTOM : (matched?.value ?? (defaultIsPreset ? defaultValue : ''))}
          onChange={(e) => {
            if (e.target.value === CUSTOM) {
              setCustom(true);
              return;
            }
            setCustom(false);
            setText(e.target.value);
            props.onChange(e.target.value || undefined, props.fieldPathId.path);
          }}
        >
          {defaultIsPreset ? null : <option value="">{defaultValue ? `Default (${defaultValue})` : '—'}</option>}
          {presets.map((p) => (
            <option key={p.value} value={p.value}>
              {p.label}
            </option>
          ))}
          <option value={CUSTOM}>Other…</option>
        </select>
      ) : null}
      {showText ? (
        <input
          id={presets.length ? undefined : props.fieldPathId.$id}
          aria-label={presets.length ? `${label} (typed)` : label}
          value={text}
          readOnly={readOnly}
          placeholder={presets.length ? 'e.g. 200, 404 or 2xx' : 'one, or several separated by commas'}
          data-testid={`field-${props.name}`}
          onChange={(e) => {
            setText(e.target.value);
            props.onChange(parseListText(e.target.value), props.fieldPathId.path);
          }}
        />
      ) : null}
      <FieldErrors errors={props.rawErrors ?? []} />
    </div>
  );
}
