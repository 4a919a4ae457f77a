import type { LiveEvent } from '@airpanel/contract';
import type { Logger } from '../logger.js';

/** An event with the id the stream sends it under (`<boot>-<seq>`). */
export interface NumberedEvent {
  id: string;
  event: LiveEvent;
}

export type LiveEventListener = (numbered: NumberedEvent) => void;

export interface LiveEventBusOptions {
  logger: Logger;
  /** Events kept for clients that reconnect with Last-Event-ID. */
  replayLength?: number;
  /** Distinguishes this process's event ids from an earlier one's (epoch ms of the start). */
  bootId?: number;
}

/**
 * The backend's in-process publish/subscribe of live events: services publish what changed,
 * the event stream (and anything else) subscribes. Delivery is synchronous and a listener
 * that throws is logged, never allowed to stop the publisher or the other listeners.
 */
export class LiveEventBus {
  private readonly listeners = new Set<LiveEventListener>();
  private readonly recent: NumberedEvent[] = [];
  private readonly replayLength: number;
  private readonly boot: string;
  private seq = 0;

  constructor(private readonly o: LiveEventBusOptions) {
    this.replayLength = o.replayLength ?? 1_000;
    this.boot = (o.bootId ?? Date.now()).toString(36);
  }

  publish(event: LiveEvent): void {
    this.seq += 1;
    const numbered: NumberedEvent = { id: `${this.boot}-${this.seq}`, event };
    this.recent.push(numbered);
    if (this.recent.length > this.replayLength) this.recent.splice(0, this.recent.length - this.replayLength);
    for (const listener of this.listeners) {
      try {
        listener(numbered);
      } catch (error) {
        this.o.logger.error('live event listener failed', { type: event.type, error: (error as Error).message });
      }
    }
  }

  /** Calls `listener` with every event published from now on; returns the unsubscribe. */
  subscribe(listener: LiveEventListener): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  /** The id of the newest event (`<boot>-0` before the first). */
  get latestId(): string {
    return `${this.boot}-${this.seq}`;
  }

  get subscriberCount(): number {
    return this.listeners.size;
  }

  /**
   * The events published after the one with id `lastId`, or null when they cannot all be
   * given: an id of another process, or older than what is kept.
   */
  eventsAfter(lastId: string): NumberedEvent[] | null {
    const match = /^([0-9a-z]+)-([0-9]+)$/.exec(lastId);
    if (!match || match[1] !== this.boot) return null;
    const seq = Number(match[2]);
    if (seq > this.seq) return null;
    if (seq === this.seq) return [];
    const firstKept = this.seq - this.recent.length + 1;
    if (seq + 1 < firstKept) return null;
    return this.recent.slice(seq + 1 - firstKept);
  }
}
