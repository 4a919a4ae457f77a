import { afterEach, describe, expect, it } from 'vitest';
import type { AlertWebhookPayload } from '@airpanel/contract';
import { silentLogger } from '../logger.js';
import { fetchWebhookClient, WebhookSender, type WebhookSenderOptions } from './webhook.js';
import { signatureValid, startWebhookReceiver } from './webhook-receiver.test-support.js';

function payload(n: number, event: AlertWebhookPayload['event'] = 'alert.raised'): AlertWebhookPayload {
  return {
    event,
    alert: {
      id: `alert-${n}`,
      panelId: 'panel-w',
      kind: 'offline',
      since: '2026-12-02T17:00:00.000Z',
      raisedAt: '2026-12-02T17:05:00.000Z',
      clearedAt: null,
      detail: 'offline; last seen 2026-12-02T17:00:00.000Z',
    },
    panelName: 'Main street',
    sentAt: '2026-12-02T17:05:00.000Z',
  };
}

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

async function setUp(receiverOptions: Parameters<typeof startWebhookReceiver>[0], senderOptions: Partial<WebhookSenderOptions> = {}) {
  const receiver = await startWebhookReceiver(receiverOptions);
  closers.push(receiver.close);
  const delays: number[] = [];
  const secret = 'a-secret-of-thirty-two-characters';
  const sender = new WebhookSender({
    http: fetchWebhookClient,
    target: () => ({ url: receiver.url, secret }),
    logger: silentLogger,
    now: () => Date.now(),
    baseDelayMs: 20,
    maxDelayMs: 200,
    random: () => 0.5,
    sleep: (ms) => {
      delays.push(ms);
      return new Promise((resolve) => setTimeout(resolve, ms));
    },
    ...senderOptions,
  });
  closers.push(() => sender.close());
  return { receiver, sender, delays, secret };
}

describe('WebhookSender against a receiver on 127.0.0.1', () => {
  it('retries after 500 and 503 with growing delays, the same delivery id, and signs every attempt', async () => {
    const { receiver, sender, delays, secret } = await setUp({ statuses: [500, 503] });
    const deliveryId = sender.send(payload(1));
    await sender.idle();
    expect(receiver.received.map((r) => r.answeredWith)).toEqual([500, 503, 200]);
    expect(new Set(receiver.received.map((r) => r.headers['x-airpanel-delivery']))).toEqual(new Set([deliveryId]));
    for (const request of receiver.received) {
      expect(request.headers['content-type']).toBe('application/json');
      expect(signatureValid(request, secret)).toBe(true);
      expect(signatureValid(request, 'another-secret-of-some-length')).toBe(false);
      expect(request.payload).toEqual(payload(1));
    }
    // base 20 ms doubling, half fixed and half random (random 0.5): 15, 30.
    expect(delays).toEqual([15, 30]);
    expect(sender.counters).toMatchObject({ delivered: 1, failed: 0, attempts: 3 });
  });

  it('does not retry a 4xx other than 408 and 429, and gives up after maxAttempts', async () => {
    const { receiver, sender } = await setUp({ statuses: [404, 500, 500, 500] }, { maxAttempts: 3 });
    sender.send(payload(1));
    sender.send(payload(2));
    await sender.idle();
    expect(receiver.received.map((r) => [r.payload.alert.id, r.answeredWith])).toEqual([
      ['alert-1', 404],
      ['alert-2', 500],
      ['alert-2', 500],
      ['alert-2', 500],
    ]);
    expect(sender.counters).toMatchObject({ delivered: 0, failed: 2, attempts: 4 });
  });

  it('delivers in order, keeps at most maxQueued waiting (dropping the oldest), and times out a receiver that does not answer', async () => {
    const { receiver, sender } = await setUp({ holdMs: 2_000 }, { maxQueued: 2, maxAttempts: 1, timeoutMs: 100 });
    for (let n = 1; n <= 5; n++) sender.send(payload(n));
    // alert-1 is in flight; of 2…5 only the newest two wait.
    expect(sender.queued).toBe(2);
    await sender.idle();
    expect(receiver.received.map((r) => r.payload.alert.id)).toEqual(['alert-1', 'alert-4', 'alert-5']);
    expect(sender.counters).toMatchObject({ dropped: 2, failed: 3, delivered: 0 });
  });

  it('sends nothing without a URL, no signature without a secret, and close() ends a retry wait at once', async () => {
    const receiver = await startWebhookReceiver({ statuses: [500] });
    closers.push(receiver.close);
    let url: string | null = null;
    const sender = new WebhookSender({
      http: fetchWebhookClient,
      target: () => ({ url, secret: null }),
      logger: silentLogger,
      now: () => Date.now(),
      baseDelayMs: 60_000,
    });
    expect(sender.send(payload(1))).toBeNull();
    url = receiver.url;
    expect(sender.send(payload(2))).not.toBeNull();
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(receiver.received).toHaveLength(1);
    expect(receiver.received[0]!.headers['x-airpanel-signature']).toBeUndefined();
    const started = Date.now();
    await sender.close();
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(receiver.received).toHaveLength(1);
  });
});
