// @vitest-environment jsdom
import { afterEach, describe, expect, it, vi } from 'vitest';
import { cleanup, fireEvent, render, screen } from '@testing-library/react';
import type { NodeType } from '../api/models';
import { nodeType } from '../test/fixtures';
import { Palette } from './Palette';
import { isTriggerSearch, searchTypes } from './paletteSearch';

const types: NodeType[] = [
  nodeType('start', ['success'], { title: 'Start', group: 'flow' }),
  nodeType('condition', ['true', 'false', 'error'], { title: 'Condition', group: 'logic', description: 'Branches.' }),
  nodeType('switch', ['default', 'error'], { title: 'Switch', group: 'logic' }),
  nodeType('log', ['success', 'error'], { title: 'Log', group: 'data', description: 'Writes a line.' }),
  nodeType('http', ['success', 'error'], { title: 'HTTP request', group: 'integration' }),
  nodeType('postgres.query', ['success', 'error'], { title: 'PostgreSQL query', group: 'postgres' }),
  nodeType('email.send', ['success', 'error'], { title: 'Send email', group: 'email' }),
  nodeType('amqp.publish', ['success', 'error'], { title: 'Publish to AMQP', group: 'amqp' }),
  nodeType('nats.publish', ['success', 'error'], { title: 'Publish to NATS', group: 'nats' }),
];
const byType = new Map(types.map((t) => [t.type, t]));
const found = (search: string) => searchTypes(types, search).map((t) => t.type);

afterEach(cleanup);

describe('palette search', () => {
  it('finds types by the words people use, best match first', () => {
    expect(found('if')[0]).toBe('condition');
    expect(found('sql')).toEqual(['postgres.query']);
    expect(found('email')[0]).toBe('email.send');
    expect(found('mail')[0]).toBe('email.send');
    expect(found('queue')).toEqual(expect.arrayContaining(['amqp.publish', 'nats.publish']));
    expect(found('api')[0]).toBe('http');
    expect(found('postgres')[0]).toBe('postgres.query');
    // "post" is also HTTP's POST: both are offered.
    expect(found('post')).toEqual(expect.arrayContaining(['http', 'postgres.query']));
    expect(found('zzz')).toEqual([]);
    // "if" is a word, not a piece of one: notify, modify do not count.
    expect(found('if')).not.toContain('log');
  });

  it('never offers start, and knows a trigger word when it sees one', () => {
    expect(found('start')).not.toContain('start');
    expect(isTriggerSearch('webhook')).toBe(true);
    expect(isTriggerSearch('cron schedule')).toBe(true);
    expect(isTriggerSearch('sql')).toBe(false);
  });

  it('adds the first match on Enter and clears the search', () => {
    const onAdd = vi.fn();
    render(<Palette nodeTypes={byType} onAdd={onAdd} />);
    const search = screen.getByTestId('palette-search') as HTMLInputElement;
    fireEvent.change(search, { target: { value: 'if' } });
    expect(screen.getByTestId('palette-search-first').textContent).toContain('Condition');
    fireEvent.keyDown(search, { key: 'Enter' });
    expect(onAdd).toHaveBeenCalledWith('condition');
    expect(search.value).toBe('');
  });

  it('says where triggers are when the search is "webhook"', () => {
    const onAdd = vi.fn();
    render(<Palette nodeTypes={byType} onAdd={onAdd} />);
    fireEvent.change(screen.getByTestId('palette-search'), { target: { value: 'webhook' } });
    expect(screen.getByTestId('palette-trigger-hint').textContent).toContain('Triggers');
    fireEvent.keyDown(screen.getByTestId('palette-search'), { key: 'Enter' });
    expect(onAdd).not.toHaveBeenCalled();
  });
});
