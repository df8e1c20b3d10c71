import { useEffect, useRef, useState, type FormEvent } from 'react';

/** The save button and its message box (Ctrl+S opens it too). */
export function SaveControl({
  dirty,
  saving,
  open,
  setOpen,
  onSave,
}: {
  dirty: boolean;
  saving: boolean;
  open: boolean;
  setOpen: (open: boolean) => void;
  onSave: (message: string) => Promise<boolean>;
}) {
  const [message, setMessage] = useState('');
  const input = useRef<HTMLInputElement>(null);
  useEffect(() => {
    if (open) input.current?.focus();
  }, [open]);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    // The popover closes either way: a failed save shows its problems (or the conflict
    // dialog) on the page, and the message stays typed for the next try.
    if (await onSave(message)) setMessage('');
    setOpen(false);
  };
  return (
    <div className="save-control">
      <button
        type="button"
        className={dirty ? 'button primary' : 'button'}
        onClick={() => setOpen(!open)}
        aria-expanded={open}
        data-testid="save-button"
        title="Save (Ctrl+S)"
      >
        {saving ? 'Saving…' : 'Save'}
      </button>
      {open ? (
        <form className="popover" onSubmit={submit} aria-label="Save with a message">
          <label>
            What changed?
            <input
              ref={input}
              value={message}
              onChange={(e) => setMessage(e.target.value)}
              placeholder="Describe this revision"
              data-testid="save-message"
              onKeyDown={(e) => {
                if (e.key === 'Escape') setOpen(false);
              }}
            />
          </label>
          <div className="form-actions">
            <button type="button" className="button small" onClick={() => setOpen(false)}>
              Cancel
            </button>
            <button type="submit" className="button primary small" disabled={saving} data-testid="save-confirm">
              Save revision
            </button>
          </div>
        </form>
      ) : null}
    </div>
  );
}
