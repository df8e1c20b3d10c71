import { describe, expect, it } from 'vitest';
import { foreach, ifElse, nodeTypes, recovery } from '../test/fixtures';
import { templateSuggestions } from './templateHelp';
import { renameNode, uniqueNodeId, upstreamNodeIds } from './graph';

const expressions = (...args: Parameters<typeof templateSuggestions>) =>
  templateSuggestions(...args).map((s) => s.expression);

describe('template help', () => {
  it('lists the outputs of every upstream node, nearest first, and no downstream one', () => {
    const names = expressions(ifElse, 'join', nodeTypes).filter((e) => e.startsWith('nodes.'));
    expect(names).toEqual(['nodes.yes.output', 'nodes.no.output', 'nodes.big.output', 'nodes.start.output']);
    expect(expressions(ifElse, 'big', nodeTypes)).not.toContain('nodes.out.output');
  });

  it('lists the fields an upstream type declares in its output schema', () => {
    const names = expressions(recovery, 'fallback', nodeTypes);
    expect(names).toContain('nodes.call.output.status');
    expect(names).toContain('nodes.call.error');
  });

  it('offers item and loop inside a foreach body only', () => {
    expect(expressions(foreach, 'sq', nodeTypes)).toContain('item');
    expect(expressions(foreach, 'out', nodeTypes)).not.toContain('item');
  });

  it('offers error in an error branch only', () => {
    expect(expressions(recovery, 'fallback', nodeTypes)).toContain('error.message');
    expect(expressions(recovery, 'call', nodeTypes)).not.toContain('error.message');
  });

  it('handles loops without repeating a node', () => {
    const loop = { ...ifElse, edges: [...ifElse.edges, { from: 'join', to: 'big' }] };
    const ids = upstreamNodeIds(loop, 'big');
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toContain('join');
  });
});

describe('node ids', () => {
  it('makes unique ids from a type name', () => {
    expect(uniqueNodeId('http', ['http', 'http_2'])).toBe('http_3');
    expect(uniqueNodeId('On-Error', [])).toBe('on_error');
  });

  it('renames a node in its edges and in templates that read it', () => {
    const renamed = renameNode(ifElse, 'yes', 'large');
    expect(renamed.edges.filter((e) => e.from === 'large' || e.to === 'large')).toHaveLength(2);
    expect(JSON.stringify(renamed.nodes.find((n) => n.id === 'out')?.config)).toContain('nodes.large.output');
  });
});
