import type { Execution, ExecutionEvent, LogLine, Step } from '../api/models';
import type { FlowDefinition } from '../flow/format';
import type { NodeRunState } from '../canvas/mapping';
import { edgePort, switchCases } from '../flow/ports';

/** An execution as known so far: the last full read plus the events that followed. */
export interface LiveExecution {
  execution: Execution | null;
  steps: Step[];
  logs: LogLine[];
  lastSeq: number;
  ended: boolean;
}

export const TERMINAL = new Set(['succeeded', 'failed', 'cancelled', 'timed_out']);

export function fromExecution(execution: Execution): LiveExecution {
  return {
    execution,
    steps: execution.steps ?? [],
    logs: execution.logs ?? [],
    lastSeq: -1,
    ended: TERMINAL.has(execution.status),
  };
}

const stepKey = (step: Pick<Step, 'node_id' | 'visit' | 'iteration'>) =>
  `${step.node_id}|${step.visit ?? 1}|${JSON.stringify(step.iteration ?? null)}`;

/** Folds one event in. Events already applied (by sequence number) are ignored. */
export function applyEvent(state: LiveExecution, event: ExecutionEvent): LiveExecution {
  if (event.seq >= 0 && event.seq <= state.lastSeq) return state;
  const lastSeq = event.seq >= 0 ? event.seq : state.lastSeq;
  switch (event.event) {
    case 'step': {
      const key = stepKey(event.data);
      const index = state.steps.findIndex((step) => stepKey(step) === key);
      const steps =
        index === -1
          ? [...state.steps, event.data]
          : state.steps.map((step, i) => (i === index ? { ...step, ...event.data } : step));
      return { ...state, steps, lastSeq };
    }
    case 'log':
      return { ...state, logs: [...state.logs, event.data], lastSeq };
    case 'execution':
    case 'end': {
      const fields = event.data;
      const execution = state.execution ? { ...state.execution, ...fields } : null;
      const ended = event.event === 'end' || TERMINAL.has(fields.status);
      return { ...state, execution, lastSeq, ended: state.ended || ended };
    }
  }
}

/** Per node: the state to colour it with, and how often it ran. */
export function runStates(steps: readonly Step[]): Map<string, NodeRunState> {
  const byNode = new Map<string, Step[]>();
  for (const step of steps) {
    const list = byNode.get(step.node_id) ?? [];
    list.push(step);
    byNode.set(step.node_id, list);
  }
  const out = new Map<string, NodeRunState>();
  for (const [nodeId, list] of byNode) {
    const latest = list[list.length - 1];
    // In a foreach body several iterations run at once: running wins, then failed.
    const status = list.some((s) => s.status === 'running')
      ? 'running'
      : list.some((s) => s.status === 'failed') && latest.iteration !== null
        ? 'failed'
        : latest.status;
    out.set(nodeId, {
      status,
      visits: Math.max(...list.map((s) => s.visit ?? 1)),
      attempts: Math.max(...list.map((s) => s.attempts ?? 1)),
      iterations: new Set(
        list.filter((s) => s.iteration !== null && s.iteration !== undefined).map((s) => JSON.stringify(s.iteration)),
      ).size,
    });
  }
  return out;
}

/** The ports a finished step chose, from its status and output. */
export function chosenPorts(step: Step, definition: FlowDefinition): string[] {
  if (step.status === 'failed') return ['error'];
  if (step.status !== 'succeeded') return [];
  // The API records the chosen port; older answers without it are read from the output.
  if (typeof step.port === 'string' && step.port) return step.port === 'each' ? ['each', 'done'] : [step.port];
  const node = definition.nodes.find((n) => n.id === step.node_id);
  const output = step.output as Record<string, unknown> | null;
  switch (node?.type) {
    case 'condition':
      return [output && output.result ? 'true' : 'false'];
    case 'switch': {
      const value = output && 'value' in output ? String(output.value) : undefined;
      return [value !== undefined && switchCases(node).includes(value) ? value : 'default'];
    }
    case 'foreach':
      return ['each', 'done'];
    default:
      return ['success'];
  }
}

/** Indexes of the definition's edges the execution went along: the path it took. */
export function takenEdges(definition: FlowDefinition, steps: readonly Step[]): Set<number> {
  const ran = new Set(steps.filter((s) => s.status !== 'skipped').map((s) => s.node_id));
  const ports = new Map<string, Set<string>>();
  for (const step of steps) {
    const set = ports.get(step.node_id) ?? new Set<string>();
    for (const port of chosenPorts(step, definition)) set.add(port);
    ports.set(step.node_id, set);
  }
  const out = new Set<number>();
  definition.edges.forEach((edge, index) => {
    if (ran.has(edge.to) && ports.get(edge.from)?.has(edgePort(edge))) out.add(index);
  });
  return out;
}
