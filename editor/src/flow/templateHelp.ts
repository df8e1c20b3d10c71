import type { FlowDefinition } from './format';
import type { NodeType } from '../api/models';
import { enclosingForeach, inErrorBranch, upstreamNodeIds } from './graph';
import { edgePort } from './ports';

export interface TemplateSuggestion {
  /** The expression to insert, without braces: `nodes.fetch.output.body`. */
  expression: string;
  /** What it is, for the reader. */
  detail: string;
}

/** The names of an output schema's top-level properties, if it lists them. */
function outputFields(nodeType: NodeType | undefined): string[] {
  const properties = nodeType?.output_schema?.properties;
  if (!properties || typeof properties !== 'object') return [];
  return Object.keys(properties);
}

/**
 * What a template in `nodeId`'s config can read: the execution input, each upstream node's
 * output (nearest first, with the fields its type declares), and the scope-dependent names
 * (`item`/`loop` in a foreach body, `error` in an error branch).
 */
export function templateSuggestions(
  definition: FlowDefinition,
  nodeId: string,
  nodeTypes: Map<string, NodeType>,
): TemplateSuggestion[] {
  const byId = new Map(definition.nodes.map((node) => [node.id, node]));
  const out: TemplateSuggestion[] = [{ expression: 'input', detail: 'the execution input' }];
  for (const id of upstreamNodeIds(definition, nodeId)) {
    const node = byId.get(id);
    if (!node) continue;
    const type = nodeTypes.get(node.type);
    const label = node.name ? `${node.name} (${node.type})` : node.type;
    out.push({ expression: `nodes.${id}.output`, detail: `output of ${label}` });
    for (const field of outputFields(type)) {
      out.push({ expression: `nodes.${id}.output.${field}`, detail: `${field} of ${id}'s output` });
    }
    const handled = definition.edges.some((edge) => edge.from === id && edgePort(edge) === 'error');
    if (handled) out.push({ expression: `nodes.${id}.error`, detail: `error of ${id}, when handled` });
  }
  if (enclosingForeach(definition, nodeId)) {
    out.push({ expression: 'item', detail: 'the current foreach item' });
    out.push({ expression: 'loop.index', detail: 'index of the item, from 0' });
    out.push({ expression: 'loop.length', detail: 'number of items' });
  }
  if (inErrorBranch(definition, nodeId)) {
    out.push({ expression: 'error.message', detail: 'message of the failure being handled' });
    out.push({ expression: 'error.node_id', detail: 'node that failed' });
    out.push({ expression: 'error.attempt', detail: 'attempt that failed' });
  }
  out.push(
    { expression: 'vars.NAME', detail: 'an organisation variable' },
    { expression: 'secrets.NAME', detail: 'a secret (masked in outputs and logs)' },
    { expression: 'execution.id', detail: 'this execution' },
    { expression: 'flow.revision', detail: 'the running revision' },
  );
  return out;
}
