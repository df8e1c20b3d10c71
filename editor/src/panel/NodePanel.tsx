import { useMemo, useRef, useState } from 'react';
import Form from '@rjsf/core';
import validator from '@rjsf/validator-ajv8';
import type { ErrorSchema, RJSFSchema } from '@rjsf/utils';
import type { FlowDefinition, FlowNode, JsonObject, RetryPolicy } from '../flow/format';
import type { NodeType, ValidationProblem } from '../api/models';
import { NODE_ID_PATTERN, renameNode, updateNode } from '../flow/graph';
import { templateSuggestions } from '../flow/templateHelp';
import { nodeGlyph } from '../canvas/icons';
import { CopyButton } from '../components/ui';
import { buildUiSchema, problemsToErrorSchema } from './uiSchema';
import { CodeWidget, JsonField, KeyValueField, TextListField } from './fields';
import { docsHref, presentSchema } from './present';
import { ConnectionPicker } from '../connections/ConnectionPicker';

const widgets = { code: CodeWidget, connection: ConnectionPicker };
const fields = { json: JsonField, keyvalue: KeyValueField, textlist: TextListField };

export interface NodePanelProps {
  definition: FlowDefinition;
  nodeId: string;
  nodeTypes: Map<string, NodeType>;
  readOnly: boolean;
  problems: ValidationProblem[];
  onChange: (definition: FlowDefinition, coalesceKey?: string) => void;
  onRenamed?: (newId: string) => void;
  onDelete?: () => void;
  onClose: () => void;
}

function changedKey(before: JsonObject | undefined, after: JsonObject): string {
  const keys = new Set([...Object.keys(before ?? {}), ...Object.keys(after)]);
  for (const key of keys) {
    if (JSON.stringify(before?.[key]) !== JSON.stringify(after[key])) return key;
  }
  return '';
}

function numberOrUndefined(text: string): number | undefined {
  if (text.trim() === '') return undefined;
  const value = Number(text);
  return Number.isFinite(value) ? value : undefined;
}

function IdField({
  node,
  definition,
  readOnly,
  onRename,
}: {
  node: FlowNode;
  definition: FlowDefinition;
  readOnly: boolean;
  onRename: (id: string) => void;
}) {
  const [text, setText] = useState(node.id);
  const taken = text !== node.id && definition.nodes.some((n) => n.id === text);
  const valid = NODE_ID_PATTERN.test(text) && !taken;
  const commitRename = () => {
    if (valid && text !== node.id) onRename(text);
    else setText(node.id);
  };
  return (
    <label>
      Id <span className="muted small">(templates read it as nodes.{node.id})</span>
      <input
        value={text}
        readOnly={readOnly || node.type === 'start'}
        aria-invalid={!valid}
        data-testid="node-id-input"
        onChange={(e) => setText(e.target.value)}
        onBlur={commitRename}
        onKeyDown={(e) => {
          if (e.key === 'Enter') commitRename();
        }}
      />
      {!valid ? (
        <span className="field-error">
          {taken ? 'Another node has this id.' : 'Lower-case letters, digits and _, starting with a letter.'}
        </span>
      ) : null}
    </label>
  );
}

/** The side panel of one node: id, name, config form from its type's schema, template help, limits. */
export default function NodePanel(props: NodePanelProps) {
  const { definition, nodeId, nodeTypes, readOnly, problems, onChange } = props;
  const node = definition.nodes.find((n) => n.id === nodeId);
  const nodeType = node ? nodeTypes.get(node.type) : undefined;
  const uiSchema = useMemo(
    () => buildUiSchema(nodeType?.config_schema ?? {}, nodeType?.connection_types ?? []),
    [nodeType],
  );
  const schema = useMemo(() => presentSchema(nodeType?.config_schema ?? {}), [nodeType]);
  const docs = docsHref(nodeType?.docs_url);
  const extraErrors = useMemo(() => problemsToErrorSchema(problems.filter((p) => p.field)), [problems]);
  const suggestions = useMemo(
    () => (node ? templateSuggestions(definition, node.id, nodeTypes) : []),
    [definition, node, nodeTypes],
  );
  // rjsf reports a change on mount when it fills in schema defaults: only what the user
  // does (typing, picking, clicking) may change the flow, or opening a node would dirty it.
  const touched = useRef(false);
  const touch = () => {
    touched.current = true;
  };
  if (!node) return null;

  const patch = (next: Partial<FlowNode>, key: string) =>
    onChange(
      updateNode(definition, node.id, (current) => {
        const merged: FlowNode = { ...current, ...next };
        for (const [name, value] of Object.entries(next))
          if (value === undefined) delete merged[name as keyof FlowNode];
        return merged;
      }),
      `${node.id}:${key}`,
    );

  const setRetry = (field: keyof RetryPolicy, value: unknown) => {
    const retry: RetryPolicy = { ...(node.retry ?? {}), [field]: value };
    if (value === undefined || value === '') delete retry[field];
    patch({ retry: Object.keys(retry).length ? retry : undefined }, `retry.${field}`);
  };

  return (
    <aside className="side-panel node-panel" aria-label={`Node ${node.id}`} data-testid="node-side-panel">
      <header className="side-panel-head">
        <span className="flow-node-icon" aria-hidden>
          {nodeGlyph(node.type, nodeType)}
        </span>
        <div>
          <h2>{node.name || node.id}</h2>
          <div className="muted small">{nodeType?.title ?? node.type}</div>
        </div>
        <button type="button" className="icon-button" aria-label="Close node panel" onClick={props.onClose}>
          ×
        </button>
      </header>
      {nodeType?.description || docs ? (
        <p className="muted small">
          {nodeType?.description}{' '}
          {docs ? (
            <a href={docs} target="_blank" rel="noreferrer" data-testid="node-docs-link">
              Docs ↗
            </a>
          ) : null}
        </p>
      ) : null}
      {problems.length ? (
        <ul className="problems" role="alert" data-testid="node-panel-problems">
          {problems.map((problem, index) => (
            <li key={index}>
              {problem.field ? <strong>{problem.field}: </strong> : null}
              {problem.msg}
            </li>
          ))}
        </ul>
      ) : null}
      <div className="form">
        <IdField
          key={node.id}
          node={node}
          definition={definition}
          readOnly={readOnly}
          onRename={(id) => {
            onChange(renameNode(definition, node.id, id));
            props.onRenamed?.(id);
          }}
        />
        <label>
          Name
          <input
            value={node.name ?? ''}
            readOnly={readOnly}
            placeholder={node.id}
            data-testid="node-name-input"
            onChange={(e) => patch({ name: e.target.value || undefined }, 'name')}
          />
        </label>
      </div>
      {nodeType ? (
        <div
          className="config-form"
          data-testid="node-config-form"
          onKeyDownCapture={touch}
          onInputCapture={touch}
          onChangeCapture={touch}
          onMouseDownCapture={touch}
          onPasteCapture={touch}
        >
          <Form
            key={node.id}
            schema={schema as RJSFSchema}
            uiSchema={uiSchema}
            formData={node.config ?? {}}
            validator={validator}
            widgets={widgets}
            fields={fields}
            extraErrors={extraErrors as ErrorSchema}
            readonly={readOnly}
            showErrorList={false}
            noHtml5Validate
            liveValidate={false}
            onChange={(event) => {
              if (!touched.current || readOnly) return;
              const config = (event.formData ?? {}) as JsonObject;
              if (JSON.stringify(config) === JSON.stringify(node.config ?? {})) return;
              patch({ config }, `config.${changedKey(node.config, config)}`);
            }}
          />
        </div>
      ) : (
        <p className="muted">Node type “{node.type}” is not known to the API: its config is kept as it is.</p>
      )}
      <details className="template-help" data-testid="template-help">
        <summary>Template help</summary>
        <p className="muted small">
          Strings in the config are templates: <code>{'{{ expression }}'}</code>. In scope here:
        </p>
        <ul>
          {suggestions.map((s) => (
            <li key={s.expression} data-testid={`template-item-${s.expression}`}>
              <code>{`{{ ${s.expression} }}`}</code> <span className="muted small">{s.detail}</span>
              <CopyButton text={`{{ ${s.expression} }}`} label="Copy" />
            </li>
          ))}
        </ul>
      </details>
      <details className="advanced">
        <summary>Retries and limits</summary>
        <div className="form grid-2">
          <label>
            Max attempts
            <input
              type="number"
              min={1}
              readOnly={readOnly}
              value={node.retry?.max_attempts ?? ''}
              data-testid="node-retry-attempts"
              onChange={(e) => setRetry('max_attempts', numberOrUndefined(e.target.value))}
            />
          </label>
          <label>
            Delay (s)
            <input
              type="number"
              min={0}
              step="any"
              readOnly={readOnly}
              value={node.retry?.delay_s ?? ''}
              onChange={(e) => setRetry('delay_s', numberOrUndefined(e.target.value))}
            />
          </label>
          <label>
            Backoff
            <select
              disabled={readOnly}
              value={node.retry?.backoff ?? ''}
              onChange={(e) => setRetry('backoff', e.target.value || undefined)}
            >
              <option value="">default (fixed)</option>
              <option value="fixed">fixed</option>
              <option value="exponential">exponential</option>
            </select>
          </label>
          <label>
            Max delay (s)
            <input
              type="number"
              min={0}
              step="any"
              readOnly={readOnly}
              value={node.retry?.max_delay_s ?? ''}
              onChange={(e) => setRetry('max_delay_s', numberOrUndefined(e.target.value))}
            />
          </label>
          <label>
            Timeout per attempt (s)
            <input
              type="number"
              min={0}
              step="any"
              readOnly={readOnly}
              value={node.timeout_s ?? ''}
              onChange={(e) => patch({ timeout_s: numberOrUndefined(e.target.value) }, 'timeout_s')}
            />
          </label>
          <label>
            Max visits
            <input
              type="number"
              min={1}
              readOnly={readOnly}
              value={node.max_visits ?? ''}
              placeholder="100"
              onChange={(e) => patch({ max_visits: numberOrUndefined(e.target.value) }, 'max_visits')}
            />
          </label>
        </div>
      </details>
      {!readOnly && node.type !== 'start' && props.onDelete ? (
        <button type="button" className="button danger small" onClick={props.onDelete} data-testid="node-delete-button">
          Delete node
        </button>
      ) : null}
    </aside>
  );
}
