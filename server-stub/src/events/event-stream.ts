import { Readable } from 'node:stream';
import { LIVE_EVENT_HEARTBEAT_SECONDS } from '@airpanel/contract';
import { eventEndpoints } from '@airpanel/contract/api';
import type { Logger } from '../logger.js';
import { ServiceError } from '../errors.js';
import { bindRoute, type BoundRoute, type RouteResult } from '../http/route.js';
import type { LiveEventBus, NumberedEvent } from './event-bus.js';

export interface LiveEventStreamsOptions {
  bus: LiveEventBus;
  logger: Logger;
  /** Between heartbeat comments when nothing else was sent. */
  heartbeatMs?: number;
  /**
   * Bytes waiting for one client (what the socket would not take yet) before that client is
   * dropped: a reader that stopped costs at most this much memory.
   */
  maxBufferedBytes?: number;
  /** Streams open at once; another one is refused with 503. */
  maxStreams?: number;
  /** How long a client waits before reconnecting (the SSE `retry:` field). */
  retryMs?: number;
}

/** Why a stream ended, for the log and the tests. */
export type StreamEnd = 'client-closed' | 'too-slow' | 'shutdown';

const HEARTBEAT = ': keep-alive\n\n';

function frame(numbered: NumberedEvent): string {
  // JSON.stringify escapes newlines inside strings, so the data is one line.
  return `id: ${numbered.id}\ndata: ${JSON.stringify(numbered.event)}\n\n`;
}

class SseConnection {
  readonly stream: Readable;
  private heartbeat: NodeJS.Timeout | null = null;
  private unsubscribe: (() => void) | null = null;
  private ended = false;

  constructor(
    private readonly o: Required<Omit<LiveEventStreamsOptions, 'bus' | 'logger' | 'maxStreams'>>,
    private readonly onEnd: (connection: SseConnection, why: StreamEnd) => void,
  ) {
    // Pushed chunks stay in this stream while the socket is full: its length is what the
    // client has not taken yet (on top of the kernel's and the socket's own buffers).
    this.stream = new Readable({ read: () => undefined, highWaterMark: 16 * 1024 });
    this.stream.on('close', () => this.finish('client-closed'));
  }

  start(bus: LiveEventBus, replay: NumberedEvent[] | null, wantedReplay: boolean): void {
    this.push(`retry: ${this.o.retryMs}\n\n`);
    if (wantedReplay && replay === null) {
      // Under the newest id, so that a reconnection after it asks only for what follows.
      this.push(frame({ id: bus.latestId, event: { type: 'resync', reason: 'the events since Last-Event-ID are no longer held' } }));
    }
    for (const numbered of replay ?? []) this.push(frame(numbered));
    this.unsubscribe = bus.subscribe((numbered) => this.push(frame(numbered)));
    this.heartbeat = setInterval(() => this.push(HEARTBEAT), this.o.heartbeatMs);
    this.heartbeat.unref();
  }

  private push(chunk: string): void {
    if (this.ended) return;
    if (this.stream.readableLength + chunk.length > this.o.maxBufferedBytes) {
      this.finish('too-slow');
      return;
    }
    this.stream.push(chunk);
  }

  end(why: StreamEnd): void {
    this.finish(why);
  }

  private finish(why: StreamEnd): void {
    if (this.ended) return;
    this.ended = true;
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.unsubscribe?.();
    // A slow client is cut (its buffered bytes dropped); at shutdown the stream ends cleanly.
    if (why === 'too-slow') this.stream.destroy();
    else if (why === 'shutdown') this.stream.push(null);
    this.onEnd(this, why);
  }
}

/**
 * The server-sent event stream (`GET /api/v1/events`): every live event of the bus to every
 * open stream, heartbeats while quiet, replay after Last-Event-ID. A client that does not
 * read is dropped once `maxBufferedBytes` wait for it.
 */
export class LiveEventStreams {
  private readonly open = new Set<SseConnection>();
  private readonly options: Required<Omit<LiveEventStreamsOptions, 'bus' | 'logger' | 'maxStreams'>>;
  private closed = false;
  /** Called when a stream ends (tests and metrics). */
  onStreamEnd: ((why: StreamEnd) => void) | null = null;

  constructor(private readonly o: LiveEventStreamsOptions) {
    this.options = {
      heartbeatMs: o.heartbeatMs ?? LIVE_EVENT_HEARTBEAT_SECONDS * 1000,
      maxBufferedBytes: o.maxBufferedBytes ?? 1024 * 1024,
      retryMs: o.retryMs ?? 3_000,
    };
  }

  get openCount(): number {
    return this.open.size;
  }

  routes(): BoundRoute[] {
    return [bindRoute(eventEndpoints.streamEvents, ({ request }) => this.openStream(request.headers['last-event-id']))];
  }

  private openStream(lastEventId: string | string[] | undefined): RouteResult {
    if (this.closed) throw new ServiceError('unavailable', 'unavailable', 'the backend is stopping');
    if (this.open.size >= (this.o.maxStreams ?? 200)) {
      throw new ServiceError('unavailable', 'unavailable', 'too many event streams are open; try again later');
    }
    const lastId = typeof lastEventId === 'string' && lastEventId.length <= 64 ? lastEventId : null;
    const replay = lastId === null ? [] : this.o.bus.eventsAfter(lastId);
    const connection = new SseConnection(this.options, (ended, why) => {
      this.open.delete(ended);
      if (why === 'too-slow') this.o.logger.warn('event stream dropped: the client does not read what is sent');
      this.onStreamEnd?.(why);
    });
    this.open.add(connection);
    connection.start(this.o.bus, replay, lastId !== null);
    return {
      status: 200,
      headers: { 'cache-control': 'no-store', 'x-accel-buffering': 'no' },
      raw: { contentType: 'text/event-stream; charset=utf-8', payload: connection.stream },
    };
  }

  /** Ends every stream (before the HTTP server closes, which waits for open responses). */
  closeAll(): void {
    this.closed = true;
    for (const connection of [...this.open]) connection.end('shutdown');
  }
}
