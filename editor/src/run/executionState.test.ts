import { describe, expect, it } from 'vitest';
import type { Execution, Step } from '../api/models';
import { ifElse, recovery } from '../test/fixtures';
import { applyEvent, fromExecution, runStates, takenEdges } from './executionState';

const step = (node_id: string, status: Step['status'], extra: Partial<Step> = {}): Step => ({
  node_id,
  status,
  visit: 1,
  iteration: null,
  attempts: 1,
  input: null,
  output: null,
  error: null,
  started_at: null,
  finished_at: null,
  ...extra,
});

const execution: Execution = {
  id: 'e',
  flow_id: 'f',
  revision: 1,
  status: 'running',
  status_detail: null,
  input: {},
  output: null,
  error: null,
  trigger: { type: 'manual' },
  retry_of: null,
  runner_id: null,
  attempt: 1,
  queued_at: '',
  started_at: null,
  finished_at: null,
  steps: [],
  logs: [],
};

describe('live execution state', () => {
  it('updates a step in place as its events arrive and ignores replayed events', () => {
    let state = fromExecution(execution);
    state = applyEvent(state, { seq: 1, event: 'step', data: step('big', 'running') });
    state = applyEvent(state, { seq: 2, event: 'step', data: step('big', 'succeeded', { output: { result: true } }) });
    state = applyEvent(state, { seq: 2, event: 'step', data: step('big', 'failed') });
    expect(state.steps).toHaveLength(1);
    expect(state.steps[0].status).toBe('succeeded');
    state = applyEvent(state, { seq: 3, event: 'end', data: { ...execution, status: 'succeeded' } });
    expect(state.ended).toBe(true);
    expect(state.execution?.status).toBe('succeeded');
  });

  it('counts visits and attempts per node', () => {
    const states = runStates([
      step('count', 'succeeded'),
      step('count', 'succeeded', { visit: 2 }),
      step('count', 'running', { visit: 3, attempts: 2 }),
    ]);
    expect(states.get('count')).toEqual({ status: 'running', visits: 3, attempts: 2, iterations: 0 });
  });

  it('counts foreach iterations, nested ones by their index path', () => {
    const states = runStates([
      step('sq', 'succeeded', { iteration: 0 }),
      step('sq', 'running', { iteration: 1 }),
      step('sq', 'succeeded', { iteration: [1, 0] }),
      step('sq', 'succeeded', { iteration: [1, 0] }),
    ]);
    expect(states.get('sq')).toMatchObject({ status: 'running', iterations: 3 });
  });

  it('highlights the branch a condition took, not the other', () => {
    const steps = [
      step('start', 'succeeded'),
      step('big', 'succeeded', { output: { result: false } }),
      step('yes', 'skipped'),
      step('no', 'succeeded'),
    ];
    const taken = takenEdges(ifElse, steps);
    expect([...taken].sort()).toEqual([0, 2]);
  });

  it('follows the port the API recorded for a step', () => {
    const steps = [
      step('start', 'succeeded', { port: 'success' }),
      step('big', 'succeeded', { output: { result: false }, port: 'true' }),
      step('yes', 'succeeded'),
    ];
    expect([...takenEdges(ifElse, steps)].sort()).toEqual([0, 1]);
  });

  it('highlights the error edge of a handled failure', () => {
    const steps = [step('start', 'succeeded'), step('call', 'failed', { attempts: 2 }), step('fallback', 'succeeded')];
    expect([...takenEdges(recovery, steps)].sort()).toEqual([0, 1]);
  });
});
