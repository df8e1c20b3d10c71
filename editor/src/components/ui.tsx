import { useEffect, useId, useRef, useState, type ReactNode } from 'react';
import { describeError } from '../api/errors';

/** A modal dialog on the native <dialog> element: focus trap, Escape and backdrop for free. */
export function Modal({
  title,
  onClose,
  children,
  testId,
  wide,
}: {
  title: string;
  onClose: () => void;
  children: ReactNode;
  testId?: string;
  wide?: boolean;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  useEffect(() => {
    const dialog = ref.current;
    // showModal gives the focus trap and Escape; without it (old engines) the dialog just opens.
    if (dialog && !dialog.open) {
      // showModal focuses the first focusable element, the Close button, so a space typed
      // "into" the name closed the dialog: the field React focused (autoFocus), else the
      // first field of the body, gets the focus back.
      const focused = document.activeElement;
      if (typeof dialog.showModal === 'function') dialog.showModal();
      else dialog.setAttribute('open', '');
      const field =
        focused instanceof HTMLElement && focused !== dialog && dialog.contains(focused)
          ? focused
          : dialog.querySelector<HTMLElement>(
              '.modal-body [data-autofocus], .modal-body input:not([type=hidden]), .modal-body select, .modal-body textarea',
            );
      field?.focus();
    }
    return () => {
      if (dialog?.open && typeof dialog.close === 'function') dialog.close();
    };
  }, []);
  return (
    <dialog
      ref={ref}
      className={wide ? 'modal modal-wide' : 'modal'}
      aria-labelledby={titleId}
      data-testid={testId}
      onCancel={(event) => {
        event.preventDefault();
        onClose();
      }}
    >
      <header className="modal-head">
        <h2 id={titleId}>{title}</h2>
        <button type="button" className="icon-button" aria-label="Close" onClick={onClose}>
          ×
        </button>
      </header>
      <div className="modal-body">{children}</div>
    </dialog>
  );
}

export function ErrorNote({ error, testId }: { error: unknown; testId?: string }) {
  if (!error) return null;
  return (
    <div className="error-note" role="alert" data-testid={testId}>
      {describeError(error)}
    </div>
  );
}

export function CopyButton({ text, label = 'Copy', testId }: { text: string; label?: string; testId?: string }) {
  const [copied, setCopied] = useState(false);
  return (
    <button
      type="button"
      className="button small"
      data-testid={testId}
      onClick={() => {
        void navigator.clipboard?.writeText(text).then(() => {
          setCopied(true);
          setTimeout(() => setCopied(false), 1500);
        });
      }}
    >
      {copied ? 'Copied' : label}
    </button>
  );
}

/** A value shown once (tokens), with a copy button and a warning. */
export function OnceSecret({ value, testId, note }: { value: string; testId: string; note?: string }) {
  return (
    <div className="once-secret" role="status">
      <p>{note ?? 'Copy it now: it will not be shown again.'}</p>
      <div className="copy-row">
        <code data-testid={testId}>{value}</code>
        <CopyButton text={value} />
      </div>
    </div>
  );
}

export function StatusBadge({ status, testId }: { status: string | null | undefined; testId?: string }) {
  if (!status) return <span className="badge badge-none">never run</span>;
  return (
    <span className={`badge badge-${status}`} data-testid={testId} data-status={status}>
      {status.replace('_', ' ')}
    </span>
  );
}

export function Json({ value, label }: { value: unknown; label?: string }) {
  return (
    <pre className="json" aria-label={label}>
      {value === undefined ? '—' : JSON.stringify(value, null, 2)}
    </pre>
  );
}

export function Loading({ what = 'Loading' }: { what?: string }) {
  return (
    <div className="loading" role="status">
      {what}…
    </div>
  );
}

export function formatTime(value: string | null | undefined): string {
  if (!value) return '—';
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? value : date.toLocaleString();
}

export function PageHeader({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <div className="page-header">
      <h1>{title}</h1>
      <div className="page-actions">{children}</div>
    </div>
  );
}

export function ConfirmButton({
  onConfirm,
  children,
  label,
  testId,
  disabled,
}: {
  onConfirm: () => void;
  children: ReactNode;
  label: string;
  testId?: string;
  disabled?: boolean;
}) {
  return (
    <button
      type="button"
      className="button small danger"
      aria-label={label}
      data-testid={testId}
      disabled={disabled}
      onClick={() => {
        if (window.confirm(`${label}?`)) onConfirm();
      }}
    >
      {children}
    </button>
  );
}
