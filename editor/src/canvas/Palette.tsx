import { useMemo, useState } from 'react';
import type { NodeType } from '../api/models';
import { groupGlyph, groupTitle, nodeGlyph } from './icons';
import { PALETTE_MIME } from './FlowCanvas';

/** Node types by group (an integration's group is its service), searchable; drag one onto the canvas, or press Enter to add it. */
export function Palette({
  nodeTypes,
  onAdd,
  unavailable,
}: {
  nodeTypes: Map<string, NodeType>;
  onAdd: (type: string) => void;
  unavailable?: ReadonlySet<string>;
}) {
  const [search, setSearch] = useState('');
  const groups = useMemo(() => {
    const needle = search.trim().toLowerCase();
    const byGroup = new Map<string, NodeType[]>();
    for (const type of nodeTypes.values()) {
      if (type.type === 'start') continue; // one per flow, always there
      const text =
        `${type.title} ${type.type} ${type.description} ${type.group} ${groupTitle(type.group)}`.toLowerCase();
      if (needle && !text.includes(needle)) continue;
      const list = byGroup.get(type.group || 'other') ?? [];
      list.push(type);
      byGroup.set(type.group || 'other', list);
    }
    return [...byGroup.entries()].sort(([a], [b]) => groupTitle(a).localeCompare(groupTitle(b)));
  }, [nodeTypes, search]);

  return (
    <aside className="palette" aria-label="Node palette" data-testid="palette">
      <input
        type="search"
        placeholder="Search nodes"
        aria-label="Search nodes"
        value={search}
        onChange={(e) => setSearch(e.target.value)}
        data-testid="palette-search"
      />
      {groups.map(([group, types]) => (
        <section
          key={group}
          className="palette-group"
          aria-label={groupTitle(group)}
          data-testid={`palette-group-${group}`}
        >
          <h3>
            <span className="flow-node-icon" aria-hidden>
              {groupGlyph(group, types[0])}
            </span>
            {groupTitle(group)}
          </h3>
          <ul>
            {types.map((type) => (
              <li key={type.type}>
                <button
                  type="button"
                  className="palette-item"
                  disabled={unavailable?.has(type.type)}
                  draggable={!unavailable?.has(type.type)}
                  data-testid={`palette-item-${type.type}`}
                  title={unavailable?.has(type.type) ? `${type.title}: a flow has at most one` : type.description}
                  onDragStart={(event) => {
                    event.dataTransfer.setData(PALETTE_MIME, type.type);
                    event.dataTransfer.effectAllowed = 'move';
                  }}
                  onClick={() => onAdd(type.type)}
                >
                  <span className="flow-node-icon" aria-hidden>
                    {nodeGlyph(type.type, type)}
                  </span>
                  <span>{type.title}</span>
                </button>
              </li>
            ))}
          </ul>
        </section>
      ))}
      {groups.length === 0 ? <p className="muted small">No node type matches.</p> : null}
    </aside>
  );
}
