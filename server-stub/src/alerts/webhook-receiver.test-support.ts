import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AlertWebhookPayload, WEBHOOK_HEADERS } from '@airpanel/contract';

/** One request the receiver got, its body parsed against the contract. */
export interface ReceivedWebhook {
  headers: IncomingHttpHeaders;
  rawBody: string;
  payload: AlertWebhookPayload;
  /** The status it was answered with. */
  answeredWith: number;
}

/**
 * A real HTTP webhook receiver on 127.0.0.1:0 for the alert tests: answers each request with
 * the next status of `statuses` (then 200), or holds it unanswered for `hold` ms, and keeps
 * what it received.
 */
export async function startWebhookReceiver(o: { statuses?: number[]; holdMs?: number } = {}) {
  const statuses = [...(o.statuses ?? [])];
  const received: ReceivedWebhook[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const rawBody = Buffer.concat(chunks).toString('utf8');
      const status = statuses.shift() ?? 200;
      received.push({ headers: request.headers, rawBody, payload: AlertWebhookPayload.parse(JSON.parse(rawBody)), answeredWith: status });
      const answer = () => response.writeHead(status, { 'content-type': 'text/plain' }).end(status < 300 ? 'ok' : 'not now');
      if (o.holdMs) setTimeout(answer, o.holdMs).unref();
      else answer();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks/airpanel`,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Whether a received webhook carries a valid signature for `secret` (as a receiver checks it). */
export function signatureValid(webhook: Pick<ReceivedWebhook, 'headers' | 'rawBody'>, secret: string): boolean {
  const timestamp = webhook.headers[WEBHOOK_HEADERS.timestamp];
  const signature = webhook.headers[WEBHOOK_HEADERS.signature];
  if (typeof timestamp !== 'string' || typeof signature !== 'string') return false;
  const expected = Buffer.from(`sha256=${createHmac('sha256', secret).update(`${timestamp}.${webhook.rawBody}`).digest('hex')}`);
  const given = Buffer.from(signature);
  return expected.length === given.length && timingSafeEqual(expected, given);
}
