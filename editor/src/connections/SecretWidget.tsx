import type { WidgetProps } from '@rjsf/utils';
import { MASK } from './values';

/**
 * rjsf widget of a write-only field: a password input that never shows the stored value.
 * A field the API holds a value for reads `"***"`; the input then stays empty with a "set"
 * note, and leaving it empty keeps the stored value (the form sends `"***"`); "Clear" drops
 * it (the form then leaves the field out).
 */
export function SecretWidget(props: WidgetProps) {
  const wasSet = props.options.wasSet === true;
  const typed = typeof props.value === 'string' && props.value !== MASK ? props.value : '';
  const keeping = wasSet && typed === '';
  const onChange = (text: string) => props.onChange(text === '' ? (wasSet ? MASK : undefined) : text);
  const common = {
    id: props.id,
    name: props.name,
    value: typed,
    disabled: props.disabled,
    readOnly: props.readonly,
    placeholder: keeping ? 'Set: leave empty to keep it' : undefined,
    'data-testid': `secret-field-${props.name}`,
    'data-set': keeping ? 'true' : 'false',
    autoComplete: 'new-password',
    spellCheck: false,
    className: 'form-control',
  };
  return (
    <div className="secret-widget">
      {props.options.multiline === true ? (
        <textarea {...common} rows={4} onChange={(e) => onChange(e.target.value)} />
      ) : (
        <input type="password" {...common} onChange={(e) => onChange(e.target.value)} />
      )}
      {keeping ? (
        <div className="muted secret-set">
          •••••• set (write-only)
          {typeof props.options.onClear === 'function' && !props.readonly && !props.disabled ? (
            <button
              type="button"
              className="button small ghost"
              data-testid={`secret-clear-${props.name}`}
              onClick={() => (props.options.onClear as () => void)()}
            >
              Clear
            </button>
          ) : null}
        </div>
      ) : null}
    </div>
  );
}
