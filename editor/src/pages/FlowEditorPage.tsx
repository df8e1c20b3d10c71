import { lazy, Suspense, useCallback, useEffect, useMemo, useRef, useState, type CSSProperties } from 'react';
import { Link, useParams } from 'react-router';
import { ReactFlowProvider } from '@xyflow/react';
import { useQueryClient } from '@tanstack/react-query';
import { keys, useFlow, useNodeTypes, useRevision } from '../api/hooks';
import { api } from '../api/instance';
import { isApiError } from '../api/errors';
import type { NodeType } from '../api/models';
import { useCan } from '../auth/session';
import { FlowCanvas } from '../canvas/FlowCanvas';
import { Palette } from '../canvas/Palette';
import { ReadOnlyCanvas } from '../canvas/ReadOnlyCanvas';
import { useEditingCanvas } from '../canvas/useEditingCanvas';
import { autoLayout } from '../canvas/layout';
import { ErrorNote, Loading } from '../components/ui';
import { SaveControl } from '../editor/SaveControl';
import { FlowSettingsDialog } from '../editor/FlowSettingsDialog';
import { ShortcutsDialog } from '../editor/ShortcutsDialog';
import { useDraftSync } from '../editor/useDraftSync';
import { clearDraft, clearStash, loadDraft, loadStash, stashVersion, type Draft } from '../flow/draft';
import { ConflictDialog } from '../history/ConflictDialog';
import { DiffView } from '../history/DiffView';
import { HistoryPanel } from '../history/HistoryPanel';
import { useSaveFlow } from '../history/useSaveFlow';
import { problemsByNode } from '../panel/uiSchema';
import { PanelResizer } from '../panel/PanelResizer';
import { usePanelWidth } from '../panel/panelWidth';
import { useKeepVisible } from '../canvas/useKeepVisible';
import { editorStore, isDirty, useEditor } from '../store/editorStore';
import { canRedo, canUndo } from '../store/history';

const NodePanel = lazy(() => import('../panel/NodePanel'));
const RunDialog = lazy(() => import('../run/RunDialog'));

const NO_TYPES = new Map<string, NodeType>();

type View = { kind: 'edit' } | { kind: 'revision'; revision: number } | { kind: 'diff'; from: number; to: number };

export default function FlowEditorPage() {
  const { flowId = '' } = useParams();
  return (
    <ReactFlowProvider key={flowId}>
      <FlowEditor flowId={flowId} />
    </ReactFlowProvider>
  );
}

/** Palette, editable canvas and the selected node's panel. */
function EditSurface({
  nodeTypes,
  canWrite,
  onSaveShortcut,
}: {
  nodeTypes: Map<string, NodeType>;
  canWrite: boolean;
  onSaveShortcut: () => void;
}) {
  const problems = useEditor((s) => s.problems);
  const byNode = useMemo(() => problemsByNode(problems), [problems]);
  const canvas = useEditingCanvas(nodeTypes, { readOnly: !canWrite, problems: byNode, onSave: onSaveShortcut });
  const definition = useEditor((s) => s.history.present);
  const selectedNodes = useEditor((s) => s.selectedNodes);
  const selected = selectedNodes.length === 1 ? selectedNodes[0] : null;
  // At most one on_error per flow (and the one start is always there).
  const hasOnError = definition.nodes.some((node) => node.type === 'on_error');
  const unavailable = useMemo(() => new Set(hasOnError ? ['on_error'] : []), [hasOnError]);
  // While a node is dragged the side panel keeps the definition from before the drag: a
  // moved position is nothing it shows, and re-rendering its form on every mouse move of a
  // large flow made dragging slow. Nothing can be typed into it while the mouse is held.
  const dragging = useEditor((s) => s.dragStart !== null);
  const panelDefinition = useHeldWhile(dragging, definition);
  const { addNode, deleteSelection } = canvas;
  const [panelWidth, setPanelWidth] = usePanelWidth();
  const body = useRef<HTMLDivElement>(null);
  useKeepVisible(body, selected, panelWidth);
  const palette = useMemo(
    () =>
      canWrite ? <Palette nodeTypes={nodeTypes} onAdd={(type) => addNode(type)} unavailable={unavailable} /> : null,
    [canWrite, nodeTypes, addNode, unavailable],
  );
  const panel = useMemo(
    () =>
      selected ? (
        <Suspense
          fallback={
            <aside className="side-panel">
              <Loading />
            </aside>
          }
        >
          <NodePanel
            key={selected}
            definition={panelDefinition}
            nodeId={selected}
            nodeTypes={nodeTypes}
            readOnly={!canWrite}
            problems={problems.filter((p) => p.node_id === selected)}
            onChange={(next, key) => editorStore.getState().commit(next, key)}
            onRenamed={(id) => editorStore.getState().select([id], [])}
            onDelete={() => deleteSelection([selected], [])}
            onClose={() => editorStore.getState().select([], [])}
          />
        </Suspense>
      ) : null,
    [selected, panelDefinition, nodeTypes, canWrite, problems, deleteSelection],
  );
  return (
    <div
      className="editor-body"
      ref={body}
      style={{ '--panel-width': `${panelWidth}px` } as CSSProperties}
      data-panel-width={panelWidth}
    >
      {palette}
      <FlowCanvas
        nodes={canvas.nodes}
        edges={canvas.edges}
        readOnly={!canWrite}
        onNodesChange={canvas.onNodesChange}
        onEdgesChange={canvas.onEdgesChange}
        onConnect={canvas.onConnect}
        onDelete={canvas.onDelete}
        isValidConnection={canvas.isValidConnection}
        onDropType={canvas.addNode}
      />
      {panel ? <PanelResizer width={panelWidth} onResize={setPanelWidth} /> : null}
      {panel}
    </div>
  );
}

/** `value`, except that while `hold` is true it stays what it was when the hold began. */
function useHeldWhile<T>(hold: boolean, value: T): T {
  const held = useRef(value);
  return useMemo(() => {
    if (!hold) held.current = value;
    return held.current;
  }, [hold, value]);
}

function RevisionView({
  flowId,
  revision,
  nodeTypes,
  canWrite,
  onExit,
  onRestore,
  onCompare,
}: {
  flowId: string;
  revision: number;
  nodeTypes: Map<string, NodeType>;
  canWrite: boolean;
  onExit: () => void;
  onRestore: () => void;
  onCompare: () => void;
}) {
  const query = useRevision(flowId, revision);
  const [selected, setSelected] = useState<string | null>(null);
  return (
    <div className="revision-view" data-testid="revision-view" data-revision={revision}>
      <div className="mode-banner">
        <strong>Revision {revision} (read-only)</strong>
        {query.data?.message ? <span className="muted">“{query.data.message}”</span> : null}
        <button type="button" className="button small" onClick={onCompare} data-testid="revision-compare-current">
          Compare with current
        </button>
        {canWrite ? (
          <button type="button" className="button small" onClick={onRestore} data-testid="revision-restore">
            Restore this revision
          </button>
        ) : null}
        <button type="button" className="button small" onClick={onExit} data-testid="revision-exit">
          Back to editing
        </button>
      </div>
      <ErrorNote error={query.error} />
      {query.data?.definition ? (
        <div className="editor-body">
          <ReadOnlyCanvas
            definition={query.data.definition}
            nodeTypes={nodeTypes}
            selected={selected}
            onSelect={setSelected}
            testId="revision-canvas"
          />
          {selected ? (
            <Suspense fallback={<Loading />}>
              <NodePanel
                definition={query.data.definition}
                nodeId={selected}
                nodeTypes={nodeTypes}
                readOnly
                problems={[]}
                onChange={() => undefined}
                onClose={() => setSelected(null)}
              />
            </Suspense>
          ) : null}
        </div>
      ) : (
        <Loading />
      )}
    </div>
  );
}

function FlowEditor({ flowId }: { flowId: string }) {
  const queryClient = useQueryClient();
  const flow = useFlow(flowId);
  const nodeTypesQuery = useNodeTypes();
  const nodeTypes = nodeTypesQuery.data ?? NO_TYPES;
  const canWrite = useCan('flows.write');
  const canRun = useCan('executions.run');
  const [ready, setReady] = useState(false);
  const [restoredDraft, setRestoredDraft] = useState<Draft | null>(null);
  const [stash, setStash] = useState<Draft | null>(() => loadStash(flowId));
  const [view, setView] = useState<View>({ kind: 'edit' });
  const [historyOpen, setHistoryOpen] = useState(false);
  const [saveOpen, setSaveOpen] = useState(false);
  const [running, setRunning] = useState(false);
  const [settingsOpen, setSettingsOpen] = useState(false);
  const [shortcutsOpen, setShortcutsOpen] = useState(false);
  const [notice, setNotice] = useState<string | null>(null);
  const [actionError, setActionError] = useState<unknown>(null);
  const saver = useSaveFlow(flowId);

  const dirty = useEditor(isDirty);
  const history = useEditor((s) => s.history);
  const baseRevision = useEditor((s) => s.baseRevision);
  const problems = useEditor((s) => s.problems);

  // Open the flow once: the saved revision, with this browser's unsaved draft on top if any.
  useEffect(() => {
    if (!flow.data || ready) return;
    const draft = loadDraft(flowId);
    const differs = !!draft && JSON.stringify(draft.definition) !== JSON.stringify(flow.data.definition);
    editorStore
      .getState()
      .load(
        flowId,
        flow.data.definition,
        differs && draft ? draft.baseRevision : flow.data.revision,
        differs && draft ? draft.definition : undefined,
      );
    if (differs) setRestoredDraft(draft);
    else clearDraft(flowId);
    setReady(true);
  }, [flow.data, ready, flowId]);
  useDraftSync(flowId, ready);

  const discardDraft = () => {
    if (!flow.data) return;
    clearDraft(flowId);
    editorStore.getState().load(flowId, flow.data.definition, flow.data.revision);
    setRestoredDraft(null);
  };

  const validate = async () => {
    setActionError(null);
    try {
      const answer = await api().validate(editorStore.getState().history.present);
      editorStore.getState().setProblems(answer.warnings ?? []);
      setNotice(
        answer.warnings?.length
          ? `The flow is valid, with ${answer.warnings.length} warning${answer.warnings.length === 1 ? '' : 's'}: ${answer.warnings.map((w) => w.msg).join('; ')}`
          : 'The flow is valid.',
      );
    } catch (error) {
      if (isApiError(error, 422)) {
        editorStore.getState().setProblems(error.problems);
        setNotice(
          `${error.problems.length} problem${error.problems.length === 1 ? '' : 's'} found: they are marked on the nodes.`,
        );
      } else setActionError(error);
    }
  };

  const restore = async (revision: number) => {
    const state = editorStore.getState();
    if (isDirty(state)) {
      if (
        !window.confirm(
          'Restoring replaces your unsaved changes in the editor. They are kept in the history panel. Restore?',
        )
      )
        return;
      stashVersion(flowId, state.baseRevision, state.history.present);
      setStash(loadStash(flowId));
    }
    try {
      const restored = await api().restoreRevision(flowId, revision, `Restored revision ${revision}`);
      queryClient.setQueryData(keys.flow(flowId), restored);
      void queryClient.invalidateQueries({ queryKey: keys.revisions(flowId) });
      clearDraft(flowId);
      editorStore.getState().load(flowId, restored.definition, restored.revision);
      setView({ kind: 'edit' });
      setNotice(`Revision ${revision} restored as revision ${restored.revision}.`);
    } catch (error) {
      setActionError(error);
    }
  };

  const openStash = () => {
    const kept = loadStash(flowId);
    if (!kept) return;
    editorStore.getState().commit(kept.definition);
    clearStash(flowId);
    setStash(null);
    setView({ kind: 'edit' });
    setNotice('Your kept version is open as unsaved changes on top of the current revision.');
  };

  const onSaveShortcut = useCallback(() => setSaveOpen(true), []);

  if (flow.isPending) return <Loading what="Opening flow" />;
  if (flow.error) return <ErrorNote error={flow.error} />;
  if (!ready) return <Loading />;
  const archived = !!flow.data.archived_at;
  const writable = canWrite && !archived;

  return (
    <div className="editor" data-testid="flow-editor" data-flow-id={flowId}>
      <div className="toolbar" role="toolbar" aria-label="Flow editor">
        <Link to="/flows" className="button small ghost">
          ← Flows
        </Link>
        <h1 className="flow-title" data-testid="flow-name">
          {flow.data.name}
        </h1>
        <span className="muted small" data-testid="flow-revision" data-revision={baseRevision}>
          rev {baseRevision}
        </span>
        {dirty ? (
          <span className="dirty" data-testid="dirty-indicator">
            ● unsaved
          </span>
        ) : null}
        {archived ? <span className="badge badge-cancelled">archived</span> : null}
        <span className="toolbar-spacer" />
        {writable && view.kind === 'edit' ? (
          <>
            <button
              type="button"
              className="button small"
              aria-label="Undo"
              title="Undo (Ctrl+Z)"
              disabled={!canUndo(history)}
              onClick={() => editorStore.getState().undo()}
              data-testid="undo"
            >
              ↶
            </button>
            <button
              type="button"
              className="button small"
              aria-label="Redo"
              title="Redo (Ctrl+Shift+Z)"
              disabled={!canRedo(history)}
              onClick={() => editorStore.getState().redo()}
              data-testid="redo"
            >
              ↷
            </button>
            <button
              type="button"
              className="button small"
              title="Auto-layout (Shift+L)"
              onClick={() => {
                const state = editorStore.getState();
                state.commit(autoLayout(state.history.present, state.measured));
              }}
              data-testid="auto-layout"
            >
              Layout
            </button>
            <button type="button" className="button small" onClick={() => void validate()} data-testid="validate">
              Validate
            </button>
          </>
        ) : null}
        <button
          type="button"
          className="button small"
          onClick={() => setShortcutsOpen(true)}
          data-testid="shortcuts"
          aria-label="Keyboard shortcuts"
        >
          ?
        </button>
        <button
          type="button"
          className="button small"
          onClick={() => setSettingsOpen(true)}
          data-testid="flow-settings"
        >
          Settings
        </button>
        <button
          type="button"
          className={historyOpen ? 'button small active' : 'button small'}
          aria-pressed={historyOpen}
          onClick={() => setHistoryOpen(!historyOpen)}
          data-testid="history-toggle"
        >
          History
        </button>
        <Link to={`/flows/${flowId}/triggers`} className="button small" data-testid="triggers-link">
          Triggers
        </Link>
        <Link to={`/executions?flow_id=${flowId}`} className="button small">
          Executions
        </Link>
        {canRun && !archived ? (
          <button type="button" className="button small" onClick={() => setRunning(true)} data-testid="run-button">
            ▶ Run
          </button>
        ) : null}
        {writable && view.kind === 'edit' ? (
          <SaveControl dirty={dirty} saving={saver.saving} open={saveOpen} setOpen={setSaveOpen} onSave={saver.save} />
        ) : null}
      </div>
      {restoredDraft ? (
        <div className="notice" role="status" data-testid="draft-restored">
          Restored your unsaved changes from {new Date(restoredDraft.savedAt).toLocaleString()} (based on revision{' '}
          {restoredDraft.baseRevision}).
          <button type="button" className="button small" onClick={discardDraft} data-testid="draft-discard">
            Discard them
          </button>
          <button
            type="button"
            className="button small ghost"
            onClick={() => setRestoredDraft(null)}
            aria-label="Dismiss"
          >
            ×
          </button>
        </div>
      ) : null}
      {notice ? (
        <div className="notice" role="status" data-testid="editor-notice">
          {notice}
          <button type="button" className="button small ghost" onClick={() => setNotice(null)} aria-label="Dismiss">
            ×
          </button>
        </div>
      ) : null}
      {problems.length && !notice ? (
        <div className="notice notice-error" role="alert" data-testid="validation-problems">
          {problems.length} problem{problems.length === 1 ? '' : 's'}:{' '}
          {problems
            .slice(0, 3)
            .map((p) => `${p.node_id ? `${p.node_id}: ` : ''}${p.field ? `${p.field} ` : ''}${p.msg}`)
            .join('; ')}
        </div>
      ) : null}
      <ErrorNote error={saver.error ?? actionError} testId="editor-error" />
      <div className="editor-main">
        {view.kind === 'edit' ? (
          <EditSurface nodeTypes={nodeTypes} canWrite={writable} onSaveShortcut={onSaveShortcut} />
        ) : null}
        {view.kind === 'revision' ? (
          <RevisionView
            flowId={flowId}
            revision={view.revision}
            nodeTypes={nodeTypes}
            canWrite={writable}
            onExit={() => setView({ kind: 'edit' })}
            onRestore={() => void restore(view.revision)}
            onCompare={() =>
              setView({
                kind: 'diff',
                from: Math.min(view.revision, flow.data.revision),
                to: Math.max(view.revision, flow.data.revision),
              })
            }
          />
        ) : null}
        {view.kind === 'diff' ? (
          <DiffView
            flowId={flowId}
            from={view.from}
            to={view.to}
            nodeTypes={nodeTypes}
            onExit={() => setView({ kind: 'edit' })}
          />
        ) : null}
        {historyOpen ? (
          <HistoryPanel
            flowId={flowId}
            currentRevision={flow.data.revision}
            canWrite={writable}
            stash={stash}
            onView={(revision) => setView({ kind: 'revision', revision })}
            onCompare={(from, to) => setView({ kind: 'diff', from, to })}
            onRestore={(revision) => void restore(revision)}
            onOpenStash={openStash}
            onClose={() => setHistoryOpen(false)}
          />
        ) : null}
      </div>
      {saver.conflict ? (
        <ConflictDialog
          conflict={saver.conflict}
          onCancel={saver.cancelConflict}
          onReloadTheirs={() => {
            void saver.reloadTheirs().then(() => {
              setStash(loadStash(flowId));
              setNotice('Loaded the current revision. Your version is kept: open it from the history panel.');
            });
          }}
          onKeepMine={() => void saver.keepMine()}
        />
      ) : null}
      {shortcutsOpen ? <ShortcutsDialog onClose={() => setShortcutsOpen(false)} /> : null}
      {settingsOpen ? (
        <FlowSettingsDialog
          flow={flow.data}
          definition={history.present}
          canWrite={writable}
          onDefinition={(next) => editorStore.getState().commit(next)}
          onClose={() => setSettingsOpen(false)}
        />
      ) : null}
      {running ? (
        <Suspense fallback={null}>
          <RunDialog
            flowId={flowId}
            definition={dirty ? history.present : flow.data.definition}
            revision={flow.data.revision}
            dirty={dirty}
            onSaveFirst={
              writable
                ? async () => ((await saver.save('Saved to run')) ? editorStore.getState().baseRevision : null)
                : undefined
            }
            onClose={() => setRunning(false)}
          />
        </Suspense>
      ) : null}
    </div>
  );
}
