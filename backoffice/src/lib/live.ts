import { onUnmounted, reactive, readonly } from 'vue';
import { LiveEvent } from '@airpanel/contract';
import { api } from './api.js';

/**
 * The backend's live event stream (server-sent events, `GET /api/v1/events`) for the whole
 * app: one EventSource while someone is logged in, its events handed to the pages that listen.
 * The browser reconnects by itself with `Last-Event-ID`; when the backend no longer holds what
 * was missed it sends `resync` and the pages read everything again.
 */

export type LiveListener = (event: LiveEvent) => void;

const listeners = new Set<LiveListener>();
const state = reactive({ connected: false, lastEventAt: null as string | null });
let source: EventSource | null = null;
let retryTimer: ReturnType<typeof setTimeout> | null = null;
let wanted = false;

/** Whether the stream is open (shown in the layout), and when an event last arrived. */
export const liveStatus = readonly(state);

function dispatch(event: LiveEvent): void {
  for (const listener of [...listeners]) {
    try {
      listener(event);
    } catch (error) {
      console.error('live event listener failed', error);
    }
  }
}

/** Opens the stream (once); called when a session starts. */
export function startLiveEvents(): void {
  wanted = true;
  if (source) return;
  const stream = new EventSource(api.url('streamEvents'));
  source = stream;
  stream.onopen = () => {
    state.connected = true;
  };
  stream.onmessage = (message: MessageEvent<string>) => {
    let json: unknown;
    try {
      json = JSON.parse(message.data);
    } catch {
      return;
    }
    const parsed = LiveEvent.safeParse(json);
    if (!parsed.success) return;
    state.lastEventAt = new Date().toISOString();
    dispatch(parsed.data);
  };
  stream.onerror = () => {
    state.connected = false;
    // The browser retries by itself unless the answer was an error status (401 after the
    // session ended, 503 when the backend is full or stopping): then open a new stream later.
    if (stream.readyState === EventSource.CLOSED && source === stream) {
      source = null;
      retryTimer ??= setTimeout(() => {
        retryTimer = null;
        if (wanted) startLiveEvents();
      }, 5_000);
    }
  };
}

/** Closes the stream (logout). */
export function stopLiveEvents(): void {
  wanted = false;
  if (retryTimer) clearTimeout(retryTimer);
  retryTimer = null;
  source?.close();
  source = null;
  state.connected = false;
}

/** Listens to the stream while the calling component is mounted. */
export function useLiveEvents(listener: LiveListener): void {
  listeners.add(listener);
  onUnmounted(() => listeners.delete(listener));
}
