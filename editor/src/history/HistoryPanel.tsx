import { useState } from 'react';
import { useRevisions } from '../api/hooks';
import type { Revision } from '../api/models';
import { ErrorNote, Loading, formatTime } from '../components/ui';
import type { Draft } from '../flow/draft';

function authorName(author: Revision['author']): string {
  if (!author) return 'unknown';
  return author.name || author.id;
}

/** Revisions, newest first: view one, compare two, restore one, or bring back a stashed version. */
export function HistoryPanel({
  flowId,
  currentRevision,
  canWrite,
  stash,
  onView,
  onCompare,
  onRestore,
  onOpenStash,
  onClose,
}: {
  flowId: string;
  currentRevision: number;
  canWrite: boolean;
  stash: Draft | null;
  onView: (revision: number) => void;
  onCompare: (from: number, to: number) => void;
  onRestore: (revision: number) => void;
  onOpenStash: () => void;
  onClose: () => void;
}) {
  const revisions = useRevisions(flowId);
  const [from, setFrom] = useState<number | null>(null);
  const [to, setTo] = useState<number | null>(null);
  const items = [...(revisions.data?.items ?? [])].sort((a, b) => b.revision - a.revision);
  return (
    <aside className="side-panel history-panel" aria-label="History" data-testid="history-panel">
      <header className="side-panel-head">
        <h2>History</h2>
        <button type="button" className="icon-button" aria-label="Close history" onClick={onClose}>
          ×
        </button>
      </header>
      {stash ? (
        <div className="stash-note" data-testid="stash-note">
          Your version from {formatTime(stash.savedAt)} (based on revision {stash.baseRevision}) was kept after a
          conflict.
          <button type="button" className="button small" onClick={onOpenStash} data-testid="stash-open">
            Open it
          </button>
        </div>
      ) : null}
      <div className="compare-bar">
        <span className="small">
          Compare: from {from ?? '…'} to {to ?? '…'}
        </span>
        <button
          type="button"
          className="button small"
          disabled={from === null || to === null || from === to}
          onClick={() => from !== null && to !== null && onCompare(Math.min(from, to), Math.max(from, to))}
          data-testid="diff-compare"
        >
          Compare
        </button>
      </div>
      {revisions.isPending ? <Loading /> : null}
      <ErrorNote error={revisions.error} />
      <ol className="revision-list">
        {items.map((revision) => (
          <li key={revision.revision} data-testid={`revision-${revision.revision}`}>
            <div className="revision-head">
              <strong>#{revision.revision}</strong>
              {revision.revision === currentRevision ? <span className="badge">current</span> : null}
              <span className="muted small">{formatTime(revision.created_at)}</span>
            </div>
            <div className="revision-message">{revision.message || <span className="muted">no message</span>}</div>
            <div className="muted small">by {authorName(revision.author)}</div>
            <div className="revision-actions">
              <label className="small">
                <input
                  type="radio"
                  name="diff-from"
                  checked={from === revision.revision}
                  onChange={() => setFrom(revision.revision)}
                  data-testid={`diff-from-${revision.revision}`}
                />{' '}
                from
              </label>
              <label className="small">
                <input
                  type="radio"
                  name="diff-to"
                  checked={to === revision.revision}
                  onChange={() => setTo(revision.revision)}
                  data-testid={`diff-to-${revision.revision}`}
                />{' '}
                to
              </label>
              <button
                type="button"
                className="button small"
                onClick={() => onView(revision.revision)}
                data-testid={`revision-view-${revision.revision}`}
              >
                View
              </button>
              {revision.revision !== currentRevision ? (
                <button
                  type="button"
                  className="button small"
                  onClick={() => onCompare(revision.revision, currentRevision)}
                  data-testid={`revision-diff-${revision.revision}`}
                >
                  Diff to current
                </button>
              ) : null}
              {canWrite && revision.revision !== currentRevision ? (
                <button
                  type="button"
                  className="button small"
                  onClick={() => onRestore(revision.revision)}
                  data-testid={`revision-restore-${revision.revision}`}
                >
                  Restore
                </button>
              ) : null}
            </div>
          </li>
        ))}
      </ol>
    </aside>
  );
}
