import type { ApiClient } from './client';
import { ApiError } from './errors';
import type { ExecutionEvent } from './models';

/** One dispatched Server-Sent Event. */
export interface SseMessage {
  event: string;
  data: string;
  id: string | null;
}

/**
 * Incremental parser for `text/event-stream` (WHATWG HTML, "event stream interpretation").
 * Chunks may split lines anywhere; `feed` returns the events completed by the chunk.
 */
export class SseParser {
  private buffer = '';
  private data: string[] = [];
  private event = '';
  private id: string | null = null;
  /** The last event id seen, kept across events as the spec says. */
  lastEventId: string | null = null;
  retryMs: number | null = null;

  feed(chunk: string): SseMessage[] {
    this.buffer += chunk;
    const out: SseMessage[] = [];
    for (;;) {
      const match = /\r\n|\r|\n/.exec(this.buffer);
      // A lone trailing \r may be the first half of \r\n: wait for more.
      if (!match || (match[0] === '\r' && match.index === this.buffer.length - 1)) break;
      const line = this.buffer.slice(0, match.index);
      this.buffer = this.buffer.slice(match.index + match[0].length);
      const message = this.line(line);
      if (message) out.push(message);
    }
    return out;
  }

  private line(line: string): SseMessage | null {
    if (line === '') return this.dispatch();
    if (line.startsWith(':')) return null;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    switch (field) {
      case 'event':
        this.event = value;
        break;
      case 'data':
        this.data.push(value);
        break;
      case 'id':
        if (!value.includes('\0')) this.id = value;
        break;
      case 'retry':
        if (/^\d+$/.test(value)) this.retryMs = Number(value);
        break;
    }
    return null;
  }

  private dispatch(): SseMessage | null {
    if (this.id !== null) this.lastEventId = this.id;
    const hasData = this.data.length > 0;
    const message: SseMessage = { event: this.event || 'message', data: this.data.join('\n'), id: this.lastEventId };
    this.data = [];
    this.event = '';
    this.id = null;
    return hasData ? message : null;
  }
}

/** Reads every event of a byte stream. */
export async function* readSse(
  stream: ReadableStream<Uint8Array>,
  parser = new SseParser(),
): AsyncGenerator<SseMessage> {
  const reader = stream.getReader();
  const decoder = new TextDecoder();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      yield* parser.feed(decoder.decode(value, { stream: true }));
    }
    yield* parser.feed(decoder.decode() + '\n\n');
  } finally {
    reader.releaseLock();
  }
}

// Every kind the document names, and only those: a kind added to the API fails the type check.
const EVENT_KINDS: Record<ExecutionEvent['event'], true> = { step: true, log: true, execution: true, end: true };
const KNOWN_EVENTS = new Set(Object.keys(EVENT_KINDS));

export function toExecutionEvent(message: SseMessage): ExecutionEvent | null {
  if (!KNOWN_EVENTS.has(message.event)) return null;
  let data: unknown;
  try {
    data = JSON.parse(message.data);
  } catch {
    return null;
  }
  const seq = message.id !== null && /^\d+$/.test(message.id) ? Number(message.id) : -1;
  return { seq, event: message.event, data } as ExecutionEvent;
}

export interface ExecutionStreamHandlers {
  onEvent: (event: ExecutionEvent) => void;
  /** Connection state for the user: 'live', 'reconnecting', 'ended', or an error. */
  onStatus?: (status: 'connecting' | 'live' | 'reconnecting' | 'ended', error?: unknown) => void;
}

export interface StreamOptions {
  lastEventId?: string | null;
  reconnectDelayMs?: number;
  maxReconnectDelayMs?: number;
}

/**
 * Follows an execution's events with fetch streaming, so both Bearer tokens and cookies
 * work (EventSource cannot send headers). A dropped connection is resumed with
 * `Last-Event-ID`; the stream stops after the `end` event or `close()`.
 */
export function followExecution(
  client: ApiClient,
  executionId: string,
  handlers: ExecutionStreamHandlers,
  options: StreamOptions = {},
): { close: () => void } {
  const controller = new AbortController();
  let lastEventId = options.lastEventId ?? null;
  let delay = options.reconnectDelayMs ?? 1000;
  const maxDelay = options.maxReconnectDelayMs ?? 15000;

  const run = async () => {
    let ended = false;
    handlers.onStatus?.('connecting');
    while (!ended && !controller.signal.aborted) {
      try {
        const body = await client.executionEvents(executionId, lastEventId, controller.signal);
        if (!body) throw new Error('The event stream has no body.');
        handlers.onStatus?.('live');
        const parser = new SseParser();
        parser.lastEventId = lastEventId;
        for await (const message of readSse(body, parser)) {
          lastEventId = message.id ?? lastEventId;
          if (parser.retryMs !== null) delay = parser.retryMs;
          const event = toExecutionEvent(message);
          if (!event) continue;
          handlers.onEvent(event);
          if (event.event === 'end') {
            ended = true;
            break;
          }
        }
        delay = options.reconnectDelayMs ?? 1000;
      } catch (error) {
        if (controller.signal.aborted) return;
        // 4xx other than throttling will not heal by retrying.
        if (error instanceof ApiError && error.status !== 429 && error.status < 500) {
          handlers.onStatus?.('ended', error);
          return;
        }
        handlers.onStatus?.('reconnecting', error);
      }
      if (ended || controller.signal.aborted) break;
      handlers.onStatus?.('reconnecting');
      await sleep(delay, controller.signal);
      delay = Math.min(delay * 2, maxDelay);
    }
    if (ended) handlers.onStatus?.('ended');
  };
  void run();
  return { close: () => controller.abort() };
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const onAbort = () => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
