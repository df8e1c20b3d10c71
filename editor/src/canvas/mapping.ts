/**
 * The one place where the stored flow document meets React Flow's view model.
 *
 * `definitionToGraph` draws a definition; `graphToDefinition` reads one back. The round trip
 * is lossless: every node field (known or not) travels in `data.node`, every edge field in
 * `data.edge`, edges keep their order (it is part of the definition), a node that had no
 * `position` keeps none unless it was moved, and an edge that left `port` out (meaning
 * `success`) keeps it out.
 */
import type { Edge, Node } from '@xyflow/react';
import type { FlowDefinition, FlowEdge, FlowNode } from '../flow/format';
import type { NodeType, StepStatus } from '../api/models';
import type { DiffStatus } from '../flow/diff';
import { edgePort, hasInput, outputPorts } from '../flow/ports';

export const FLOW_NODE = 'flow';
export const FLOW_EDGE = 'flow';

/** What an execution shows on a node. */
export interface NodeRunState {
  status: StepStatus | 'pending';
  visits: number;
  attempts: number;
  iterations: number;
}

export type FlowNodeData = {
  /** The stored node exactly as in the definition (position included when it had one). */
  node: FlowNode;
  nodeType?: NodeType;
  ports: string[];
  /** Ports edges use that the node does not have: drawn so the bad edge can be seen and removed. */
  unknownPorts?: string[];
  hasInput: boolean;
  /** The position drawn when the stored node had none; moving away from it stores a position. */
  fallbackPosition?: { x: number; y: number };
  run?: NodeRunState;
  diff?: DiffStatus;
  changedFields?: string[];
  problems?: string[];
  readOnly?: boolean;
};

export type FlowEdgeData = {
  /** The stored edge exactly as in the definition; absent for an edge drawn just now. */
  edge?: FlowEdge;
  port: string;
  taken?: boolean;
  diff?: DiffStatus;
};

export type CanvasNode = Node<FlowNodeData, typeof FLOW_NODE>;
export type CanvasEdge = Edge<FlowEdgeData, typeof FLOW_EDGE>;

export interface GraphView {
  nodeTypes?: Map<string, NodeType>;
  selectedNodes?: ReadonlySet<string>;
  selectedEdges?: ReadonlySet<string>;
  measured?: Readonly<Record<string, { width: number; height: number }>>;
  runStates?: ReadonlyMap<string, NodeRunState>;
  takenEdges?: ReadonlySet<number>;
  nodeDiff?: ReadonlyMap<string, DiffStatus>;
  changedFields?: ReadonlyMap<string, string[]>;
  edgeDiff?: readonly DiffStatus[];
  problems?: ReadonlyMap<string, string[]>;
  readOnly?: boolean;
  /** Where to draw nodes that have no stored position (an automatic layout), else a row. */
  fallbackPositions?: ReadonlyMap<string, { x: number; y: number }>;
}

/** Where a node without a stored position is drawn: a row, left to right. */
export function fallbackPosition(index: number): { x: number; y: number } {
  return { x: index * 240, y: 0 };
}

/** Stable id of the edge at `index`; repeated identical edges get a suffix. */
export function edgeIds(edges: readonly FlowEdge[]): string[] {
  const seen = new Map<string, number>();
  return edges.map((edge) => {
    const key = `${edge.from}:${edgePort(edge)}->${edge.to}`;
    const count = seen.get(key) ?? 0;
    seen.set(key, count + 1);
    return count === 0 ? key : `${key}#${count}`;
  });
}

export function definitionToGraph(
  definition: FlowDefinition,
  view: GraphView = {},
): { nodes: CanvasNode[]; edges: CanvasEdge[] } {
  const usedPorts = new Map<string, string[]>();
  const hasIncoming = new Set<string>();
  for (const edge of definition.edges) {
    const list = usedPorts.get(edge.from) ?? [];
    if (!list.includes(edgePort(edge))) list.push(edgePort(edge));
    usedPorts.set(edge.from, list);
    hasIncoming.add(edge.to);
  }
  const nodes = definition.nodes.map((node, index): CanvasNode => {
    const nodeType = view.nodeTypes?.get(node.type);
    const ports = outputPorts(node, nodeType);
    const unknownPorts = (usedPorts.get(node.id) ?? []).filter((port) => !ports.includes(port));
    const fallback = node.position ? undefined : (view.fallbackPositions?.get(node.id) ?? fallbackPosition(index));
    const measured = view.measured?.[node.id];
    return {
      id: node.id,
      type: FLOW_NODE,
      position: node.position ? { x: node.position.x, y: node.position.y } : (fallback as { x: number; y: number }),
      selected: view.selectedNodes?.has(node.id) ?? false,
      draggable: !view.readOnly,
      connectable: !view.readOnly,
      deletable: !view.readOnly,
      ...(measured ? { measured } : {}),
      data: {
        node,
        nodeType,
        ports: [...ports, ...unknownPorts],
        ...(unknownPorts.length ? { unknownPorts } : {}),
        // An edge into a node that takes none is invalid, but it is drawn so it can be removed.
        hasInput: hasInput(node.type) || hasIncoming.has(node.id),
        ...(fallback ? { fallbackPosition: fallback } : {}),
        ...(view.runStates?.has(node.id) ? { run: view.runStates.get(node.id) } : {}),
        ...(view.nodeDiff?.has(node.id) ? { diff: view.nodeDiff.get(node.id) } : {}),
        ...(view.changedFields?.has(node.id) ? { changedFields: view.changedFields.get(node.id) } : {}),
        ...(view.problems?.has(node.id) ? { problems: view.problems.get(node.id) } : {}),
        readOnly: view.readOnly ?? false,
      },
    };
  });
  const ids = edgeIds(definition.edges);
  const edges = definition.edges.map((edge, index): CanvasEdge => {
    const port = edgePort(edge);
    const diff = view.edgeDiff?.[index];
    const taken = view.takenEdges?.has(index) ?? false;
    return {
      id: ids[index],
      type: FLOW_EDGE,
      source: edge.from,
      target: edge.to,
      sourceHandle: port,
      targetHandle: 'in',
      selected: view.selectedEdges?.has(ids[index]) ?? false,
      deletable: !view.readOnly,
      className: edgeClass(port, taken, diff),
      data: { edge, port, taken, ...(diff ? { diff } : {}) },
    };
  });
  return { nodes, edges };
}

function edgeClass(port: string, taken: boolean, diff: DiffStatus | undefined): string {
  const classes = [`edge-port-${port === 'error' ? 'error' : 'normal'}`];
  if (taken) classes.push('edge-taken');
  if (diff && diff !== 'unchanged') classes.push(`edge-diff-${diff}`);
  return classes.join(' ');
}

function samePosition(a: { x: number; y: number } | undefined, b: { x: number; y: number }): boolean {
  return !!a && a.x === b.x && a.y === b.y;
}

/**
 * Reads a definition back from the drawn graph. `base` supplies the document-level fields
 * (version, runs_on, timeout_s and any others), which the canvas does not edit.
 */
export function graphToDefinition(
  base: FlowDefinition,
  nodes: readonly CanvasNode[],
  edges: readonly CanvasEdge[],
): FlowDefinition {
  const storedNodes = nodes.map((canvasNode): FlowNode => {
    const { position: _stored, ...rest } = canvasNode.data.node;
    const node: FlowNode = { ...rest, id: canvasNode.id };
    const original = canvasNode.data.node;
    const keepOut = !original.position && samePosition(canvasNode.data.fallbackPosition, canvasNode.position);
    if (!keepOut) node.position = { x: canvasNode.position.x, y: canvasNode.position.y };
    // A stored `"position": null` stays null until the node is moved.
    else if ('position' in original) node.position = original.position;
    return node;
  });
  const storedEdges = edges.map((canvasEdge): FlowEdge => {
    const original = canvasEdge.data?.edge;
    const port = canvasEdge.sourceHandle ?? canvasEdge.data?.port ?? 'success';
    const edge: FlowEdge = { ...(original ?? {}), from: canvasEdge.source, to: canvasEdge.target };
    // Key order of stored edges: from, to, port, then anything else the edge carried.
    const { from, to, port: _p, ...extra } = edge;
    const keepPortOut = original !== undefined && original.port === undefined && port === 'success';
    return keepPortOut ? { from, to, ...extra } : { from, to, port, ...extra };
  });
  return { ...base, nodes: storedNodes, edges: storedEdges };
}

function sameList<T>(a: readonly T[] | undefined, b: readonly T[] | undefined): boolean {
  if (a === b) return true;
  if (!a || !b || a.length !== b.length) return false;
  return a.every((item, index) => item === b[index]);
}

function samePoint(a: { x: number; y: number } | undefined, b: { x: number; y: number } | undefined): boolean {
  return a === b || (!!a && !!b && a.x === b.x && a.y === b.y);
}

function sameRun(a: NodeRunState | undefined, b: NodeRunState | undefined): boolean {
  return (
    a === b ||
    (!!a &&
      !!b &&
      a.status === b.status &&
      a.visits === b.visits &&
      a.attempts === b.attempts &&
      a.iterations === b.iterations)
  );
}

function sameNode(a: CanvasNode, b: CanvasNode): boolean {
  if (
    a.id !== b.id ||
    a.selected !== b.selected ||
    a.draggable !== b.draggable ||
    a.connectable !== b.connectable ||
    a.deletable !== b.deletable
  )
    return false;
  if (!samePoint(a.position, b.position)) return false;
  if (a.measured?.width !== b.measured?.width || a.measured?.height !== b.measured?.height) return false;
  const x = a.data;
  const y = b.data;
  return (
    x.node === y.node &&
    x.nodeType === y.nodeType &&
    x.hasInput === y.hasInput &&
    sameRun(x.run, y.run) &&
    x.diff === y.diff &&
    x.readOnly === y.readOnly &&
    x.problems === y.problems &&
    x.changedFields === y.changedFields &&
    sameList(x.ports, y.ports) &&
    sameList(x.unknownPorts, y.unknownPorts) &&
    samePoint(x.fallbackPosition, y.fallbackPosition)
  );
}

function sameEdge(a: CanvasEdge, b: CanvasEdge): boolean {
  return (
    a.id === b.id &&
    a.source === b.source &&
    a.target === b.target &&
    a.sourceHandle === b.sourceHandle &&
    a.targetHandle === b.targetHandle &&
    a.selected === b.selected &&
    a.deletable === b.deletable &&
    a.className === b.className &&
    a.data?.edge === b.data?.edge &&
    a.data?.port === b.data?.port &&
    a.data?.taken === b.data?.taken &&
    a.data?.diff === b.data?.diff
  );
}

/**
 * The new graph, with every node and edge that did not change replaced by the object drawn
 * before. React Flow and the memoised node component skip identical objects, so moving one
 * node of 500 re-renders one node, not 500.
 */
export function reuseUnchanged(
  previous: { nodes: readonly CanvasNode[]; edges: readonly CanvasEdge[] } | null,
  next: { nodes: CanvasNode[]; edges: CanvasEdge[] },
): { nodes: CanvasNode[]; edges: CanvasEdge[] } {
  if (!previous) return next;
  const oldNodes = new Map(previous.nodes.map((node) => [node.id, node]));
  const oldEdges = new Map(previous.edges.map((edge) => [edge.id, edge]));
  const nodes = next.nodes.map((node) => {
    const old = oldNodes.get(node.id);
    return old && sameNode(old, node) ? old : node;
  });
  const edges = next.edges.map((edge) => {
    const old = oldEdges.get(edge.id);
    return old && sameEdge(old, edge) ? old : edge;
  });
  const unchanged =
    nodes.length === previous.nodes.length &&
    edges.length === previous.edges.length &&
    nodes.every((node, index) => node === previous.nodes[index]) &&
    edges.every((edge, index) => edge === previous.edges[index]);
  return unchanged ? (previous as { nodes: CanvasNode[]; edges: CanvasEdge[] }) : { nodes, edges };
}
