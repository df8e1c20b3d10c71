import type { FlowDefinition, FlowNode, JsonObject, JsonValue } from './format';
import type { NodeType } from '../api/models';
import { uniqueNodeId } from './graph';

/** A config holding the defaults the type's schema declares for its top-level fields. */
export function defaultConfig(nodeType: NodeType | undefined): JsonObject {
  const properties = nodeType?.config_schema?.properties;
  const out: JsonObject = {};
  if (!properties || typeof properties !== 'object') return out;
  for (const [name, schema] of Object.entries(properties as Record<string, { default?: JsonValue }>)) {
    if (schema && typeof schema === 'object' && 'default' in schema && schema.default !== undefined)
      out[name] = schema.default;
  }
  return out;
}

export function newNode(
  definition: FlowDefinition,
  type: string,
  nodeType: NodeType | undefined,
  position: { x: number; y: number },
): FlowNode {
  const id = uniqueNodeId(
    type,
    definition.nodes.map((node) => node.id),
  );
  const config = defaultConfig(nodeType);
  return {
    id,
    type,
    ...(Object.keys(config).length ? { config } : {}),
    position: { x: Math.round(position.x), y: Math.round(position.y) },
  };
}

/** An example value for a JSON schema: its default/example, else a typed placeholder. */
export function exampleFromSchema(schema: unknown, depth = 0): JsonValue {
  if (!schema || typeof schema !== 'object' || depth > 6) return null;
  const s = schema as Record<string, unknown>;
  if ('default' in s) return s.default as JsonValue;
  if (Array.isArray(s.examples) && s.examples.length) return s.examples[0] as JsonValue;
  if ('const' in s) return s.const as JsonValue;
  if (Array.isArray(s.enum) && s.enum.length) return s.enum[0] as JsonValue;
  const type = Array.isArray(s.type) ? s.type[0] : s.type;
  switch (type) {
    case 'object': {
      const out: JsonObject = {};
      const properties = (s.properties ?? {}) as Record<string, unknown>;
      for (const [name, sub] of Object.entries(properties)) out[name] = exampleFromSchema(sub, depth + 1);
      return out;
    }
    case 'array':
      return s.items ? [exampleFromSchema(s.items, depth + 1)] : [];
    case 'string':
      return '';
    case 'integer':
    case 'number':
      return 0;
    case 'boolean':
      return false;
    default:
      return s.properties ? exampleFromSchema({ ...s, type: 'object' }, depth) : null;
  }
}

/** The input a run dialog starts with: an example of the start node's `input_schema`, or `{}`. */
export function exampleInput(definition: FlowDefinition): JsonValue {
  const start = definition.nodes.find((node) => node.type === 'start');
  const schema = start?.config?.input_schema;
  if (!schema) return {};
  const example = exampleFromSchema(schema);
  return example === null ? {} : example;
}
