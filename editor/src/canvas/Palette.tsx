import { useMemo, useState } from 'react';
import type { NodeType } from '../api/models';
import { groupGlyph, groupTitle, nodeGlyph } from './icons';
import { PALETTE_MIME } from './FlowCanvas';
import { isTriggerSearch, searchTypes } from './paletteSearch';

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
  const matches = useMemo(
    () => searchTypes(nodeTypes.values(), search, groupTitle).filter((type) => !unavailable?.has(type.type)),
    [nodeTypes, search, unavailable],
  );
  const groups = useMemo(() => {
    const searching = search.trim() !== '';
    const byGroup = new Map<string, NodeType[]>();
    const shown = searching
      ? searchTypes(nodeTypes.values(), search, groupTitle)
      : [...nodeTypes.values()].filter((t) => t.type !== 'start');
    for (const type of shown) {
      const list = byGroup.get(type.group || 'other') ?? [];
      list.push(type);
      byGroup.set(type.group || 'other', list);
    }
    const entries = [...byGroup.entries()];
    // Searching: the groups in the order of their best match (Map keeps first insertion).
    return searching ? entries : entries.sort(([a], [b]) => groupTitle(a).localeCompare(groupTitle(b)));
  }, [nodeTypes, search]);
  const first = search.trim() ? matches[0] : undefined;
  const triggerHint = isTriggerSearch(search) && !matches.some((type) => type.group === 'trigger');

  return (
    <aside className="palette" aria-label="Node palette" data-testid="palette">
      <input
        type="search"
        placeholder="Search nodes"
        aria-label="Search nodes"
        value={search}
        onChange={(e) => setSearch(e.target.value)}
        onKeyDown={(e) => {
          if (e.key === 'Enter' && first) {
            e.preventDefault();
            onAdd(first.type);
            setSearch('');
          } else if (e.key === 'Escape') setSearch('');
        }}
        aria-describedby="palette-search-hint"
        data-testid="palette-search"
      />
      {first ? (
        <p className="muted small" id="palette-search-hint" data-testid="palette-search-first">
          Enter adds <strong>{first.title}</strong>
        </p>
      ) : null}
      {triggerHint ? (
        <p className="muted small palette-hint" data-testid="palette-trigger-hint">
          Webhooks, schedules and other triggers start the whole flow: set them on the flow&apos;s{' '}
          <strong>Triggers</strong> page (toolbar). Their data reaches the Start node as <code>input</code>.
        </p>
      ) : null}
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
                  className={type === first ? 'palette-item first-match' : 'palette-item'}
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
      {groups.length === 0 && !triggerHint ? <p className="muted small">No node type matches.</p> : null}
    </aside>
  );
}
