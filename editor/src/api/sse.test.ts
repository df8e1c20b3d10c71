import { describe, expect, it } from 'vitest';
import { ApiClient } from './client';
import { SseParser, followExecution, readSse } from './sse';
import type { ExecutionEvent } from './models';

function streamOf(chunks: string[]): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  return new ReadableStream({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(encoder.encode(chunk));
      controller.close();
    },
  });
}

describe('SSE parser', () => {
  it('parses events split across chunks anywhere, with multi-line data and CRLF', async () => {
    const text = 'id: 1\r\nevent: step\r\ndata: {"a":\r\ndata: 1}\r\n\r\n: comment\n\nid: 2\nevent: log\ndata: x\n\n';
    const chunks = text.match(/.{1,3}/gs) ?? [];
    const out = [];
    for await (const message of readSse(streamOf(chunks))) out.push(message);
    expect(out).toEqual([
      { event: 'step', data: '{"a":\n1}', id: '1' },
      { event: 'log', data: 'x', id: '2' },
    ]);
  });

  it('keeps the last event id for events without one, and reads retry', () => {
    const parser = new SseParser();
    const out = parser.feed('id: 7\ndata: a\n\nretry: 250\ndata: b\n\n');
    expect(out.map((m) => m.id)).toEqual(['7', '7']);
    expect(parser.retryMs).toBe(250);
  });
});

describe('following an execution', () => {
  it('resumes with Last-Event-ID after a dropped connection and stops at end', async () => {
    const calls: Request[] = [];
    const bodies = [
      'id: 1\nevent: step\ndata: {"node_id":"a","status":"running"}\n\n',
      'id: 2\nevent: end\ndata: {"status":"succeeded"}\n\n',
    ];
    const fetchImpl: typeof fetch = async (input) => {
      calls.push(input as Request);
      const body = bodies.shift() ?? '';
      return new Response(streamOf([body]), { status: 200, headers: { 'Content-Type': 'text/event-stream' } });
    };
    const client = new ApiClient({
      baseUrl: 'http://api',
      mode: 'bearer',
      fetchImpl,
      tokenStore: { getItem: () => 't', setItem: () => undefined, removeItem: () => undefined },
    });
    const events: ExecutionEvent[] = [];
    await new Promise<void>((resolve) => {
      followExecution(
        client,
        'e1',
        {
          onEvent: (event) => events.push(event),
          onStatus: (status) => {
            if (status === 'ended') resolve();
          },
        },
        { reconnectDelayMs: 1 },
      );
    });
    expect(events.map((e) => [e.seq, e.event])).toEqual([
      [1, 'step'],
      [2, 'end'],
    ]);
    expect(calls).toHaveLength(2);
    expect(calls[0].headers.get('Last-Event-ID')).toBeNull();
    expect(calls[1].headers.get('Last-Event-ID')).toBe('1');
    expect(calls[1].headers.get('Accept')).toBe('text/event-stream');
    expect(calls[1].headers.get('Authorization')).toBe('Bearer t');
  });
});
