import { createHmac, randomUUID } from 'node:crypto';
import { WEBHOOK_HEADERS, type AlertWebhookPayload } from '@airpanel/contract';
import type { Logger } from '../logger.js';

/** One HTTP request of a delivery; resolves with the answer's status, rejects on a network failure or abort. */
export type WebhookHttpClient = (request: {
  url: string;
  headers: Record<string, string>;
  body: string;
  signal: AbortSignal;
}) => Promise<{ status: number }>;

/** fetch, without following redirects (a redirect is a failure: the body and signature stay where configured). */
export const fetchWebhookClient: WebhookHttpClient = async ({ url, headers, body, signal }) => {
  const answer = await fetch(url, { method: 'POST', headers, body, signal, redirect: 'manual' });
  // The answer's body is not read: cancel it so the connection is released.
  await answer.body?.cancel().catch(() => undefined);
  return { status: answer.status };
};

export interface WebhookTarget {
  url: string | null;
  secret: string | null;
}

export interface WebhookSenderOptions {
  http: WebhookHttpClient;
  /** Where to send, read at each attempt (settings may change in between). */
  target(): WebhookTarget;
  logger: Logger;
  /** Epoch ms, for the timestamp header. */
  now(): number;
  /** Waits `ms`, or less when `signal` aborts (a timer; tests may shorten the delays instead). */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  /** 0 ≤ x < 1, for the jitter. */
  random?: () => number;
  /** Deliveries waiting at most; when full, the oldest waiting one is dropped. */
  maxQueued?: number;
  /** Attempts per delivery, the first included. */
  maxAttempts?: number;
  /** The delay before the second attempt; it doubles with each further one, up to `maxDelayMs`. */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Per attempt. */
  timeoutMs?: number;
}

interface Delivery {
  id: string;
  payload: AlertWebhookPayload;
}

export interface WebhookCounters {
  delivered: number;
  failed: number;
  dropped: number;
  attempts: number;
}

const defaultSleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done);
  });

/**
 * Sends alert changes to the configured webhook as JSON POSTs, one delivery at a time in the
 * order they happened: per attempt a timeout; a network failure, a timeout, 408, 429 or 5xx is
 * retried after an exponentially growing delay with jitter (half fixed, half random), up to
 * `maxAttempts`; any other answer ends the delivery. Deliveries wait in a bounded queue.
 * With a secret, each request is signed: `x-airpanel-signature: sha256=<hex>` = HMAC-SHA256
 * over `<timestamp>.<body>`, the timestamp (epoch seconds) in `x-airpanel-timestamp`.
 */
export class WebhookSender {
  private readonly queue: Delivery[] = [];
  private running: Promise<void> | null = null;
  private closed = false;
  private readonly abort = new AbortController();
  readonly counters: WebhookCounters = { delivered: 0, failed: 0, dropped: 0, attempts: 0 };

  constructor(private readonly o: WebhookSenderOptions) {}

  get queued(): number {
    return this.queue.length;
  }

  /** Queues a delivery when a webhook is configured; returns its id, or null when none is. */
  send(payload: AlertWebhookPayload): string | null {
    if (this.closed || this.o.target().url === null) return null;
    const delivery = { id: randomUUID(), payload };
    this.queue.push(delivery);
    const maxQueued = this.o.maxQueued ?? 1_000;
    if (this.queue.length > maxQueued) {
      const dropped = this.queue.splice(0, this.queue.length - maxQueued);
      this.counters.dropped += dropped.length;
      this.o.logger.warn('webhook: deliveries dropped, the queue is full', { dropped: dropped.length, maxQueued });
    }
    this.running ??= this.drain().finally(() => (this.running = null));
    return delivery.id;
  }

  /** Resolves when nothing is waiting or being sent (tests). */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  /** Stops: the delivery in flight is aborted, waiting ones are abandoned. */
  async close(): Promise<void> {
    this.closed = true;
    this.counters.dropped += this.queue.length;
    this.queue.length = 0;
    this.abort.abort();
    await this.running?.catch(() => undefined);
  }

  private async drain(): Promise<void> {
    for (let delivery = this.queue.shift(); delivery && !this.closed; delivery = this.queue.shift()) {
      await this.deliver(delivery);
    }
  }

  private async deliver(delivery: Delivery): Promise<void> {
    const maxAttempts = this.o.maxAttempts ?? 8;
    const body = JSON.stringify(delivery.payload);
    for (let attempt = 1; attempt <= maxAttempts && !this.closed; attempt++) {
      const target = this.o.target();
      if (target.url === null) {
        this.o.logger.info('webhook: delivery abandoned, no webhook configured any more', { deliveryId: delivery.id });
        return;
      }
      const outcome = await this.attempt(target, delivery.id, body);
      if (outcome === 'delivered') {
        this.counters.delivered++;
        return;
      }
      if (outcome === 'refused' || attempt === maxAttempts || this.closed) break;
      await (this.o.sleep ?? defaultSleep)(this.delay(attempt), this.abort.signal);
    }
    if (this.closed) return;
    this.counters.failed++;
    this.o.logger.error('webhook: delivery failed', {
      deliveryId: delivery.id,
      event: delivery.payload.event,
      alertId: delivery.payload.alert.id,
    });
  }

  /** Before attempt `attempt + 1`: base × 2^(attempt − 1), capped, half of it random. */
  private delay(attempt: number): number {
    const base = this.o.baseDelayMs ?? 1_000;
    const capped = Math.min(this.o.maxDelayMs ?? 5 * 60_000, base * 2 ** (attempt - 1));
    return capped / 2 + (this.o.random ?? Math.random)() * (capped / 2);
  }

  private async attempt(target: WebhookTarget, deliveryId: string, body: string): Promise<'delivered' | 'retry' | 'refused'> {
    const timestamp = String(Math.floor(this.o.now() / 1000));
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'user-agent': 'airpanel-backend',
      [WEBHOOK_HEADERS.delivery]: deliveryId,
      [WEBHOOK_HEADERS.timestamp]: timestamp,
    };
    if (target.secret) {
      headers[WEBHOOK_HEADERS.signature] = `sha256=${createHmac('sha256', target.secret).update(`${timestamp}.${body}`).digest('hex')}`;
    }
    const signal = AbortSignal.any([this.abort.signal, AbortSignal.timeout(this.o.timeoutMs ?? 10_000)]);
    this.counters.attempts++;
    try {
      const { status } = await this.o.http({ url: target.url!, headers, body, signal });
      if (status >= 200 && status < 300) return 'delivered';
      const retry = status === 408 || status === 429 || status >= 500;
      this.o.logger.warn('webhook: answer is not a success', { deliveryId, status, willRetry: retry });
      return retry ? 'retry' : 'refused';
    } catch (error) {
      this.o.logger.warn('webhook: request failed', { deliveryId, error: (error as Error).message });
      return 'retry';
    }
  }
}
