import { request, type ClientRequest, type IncomingMessage } from 'node:http';
import { LiveEvent } from '@airpanel/contract';

/** One SSE message as received: its id and the LiveEvent its data carried (checked against the contract). */
export interface ReceivedEvent {
  id: string | null;
  event: LiveEvent;
}

/**
 * A reader of the backend's event stream for tests: a real HTTP request, the stream parsed
 * as the SSE format says (fields, blank-line-terminated messages, comments).
 */
export async function openEventStream(url: string, o: { token?: string; lastEventId?: string } = {}) {
  const headers: Record<string, string> = { accept: 'text/event-stream' };
  if (o.token) headers.authorization = `Bearer ${o.token}`;
  if (o.lastEventId) headers['last-event-id'] = o.lastEventId;
  const req: ClientRequest = request(url, { headers });
  const response = await new Promise<IncomingMessage>((resolve, reject) => {
    req.once('response', resolve);
    req.once('error', reject);
    req.end();
  });
  const events: ReceivedEvent[] = [];
  const comments: string[] = [];
  const fields: string[] = [];
  let buffered = '';
  let ended = false;
  let body = '';
  response.setEncoding('utf8');
  response.on('data', (chunk: string) => {
    if (response.statusCode !== 200) {
      body += chunk;
      return;
    }
    buffered += chunk;
    let newline: number;
    while ((newline = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      if (line.startsWith(':')) comments.push(line.slice(1).trim());
      else if (line !== '') fields.push(line);
      else if (fields.length > 0) {
        const message = fields.splice(0);
        const data = message.filter((f) => f.startsWith('data: ')).map((f) => f.slice(6));
        const id = message.find((f) => f.startsWith('id: '))?.slice(4) ?? null;
        if (data.length > 0) events.push({ id, event: LiveEvent.parse(JSON.parse(data.join('\n'))) });
        else fields.push(...message.filter((f) => !f.startsWith('retry: ')));
      }
    }
  });
  const closed = new Promise<void>((resolve) => {
    const done = () => {
      ended = true;
      resolve();
    };
    response.once('close', done);
    response.once('end', done);
    response.once('error', done);
  });
  return {
    status: response.statusCode ?? 0,
    headers: response.headers,
    events,
    comments,
    /** The error body of a non-200 answer. */
    get body() {
      return body;
    },
    get ended() {
      return ended;
    },
    closed,
    /** Stops reading (the socket stays open): what a stuck client does. */
    stopReading: () => response.pause(),
    resumeReading: () => response.resume(),
    close: () => {
      req.destroy();
      return closed;
    },
  };
}

export type EventStreamReader = Awaited<ReturnType<typeof openEventStream>>;
