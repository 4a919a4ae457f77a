import type { Got } from 'got';
import { DISPLAY_DOCUMENT_MAX_BYTES } from '@airpanel/contract';
import { ApiCallError, type BackendApiClient } from '@airpanel/contract/api';
import { panelApiClient } from './backend-api.js';

export type PollOutcome =
  | { kind: 'document'; body: Buffer }
  | { kind: 'not-modified' }
  /** No document for this panel yet (404). */
  | { kind: 'none' }
  | { kind: 'oversized'; bytes: number }
  | { kind: 'http-error'; status: number }
  | { kind: 'network-error'; message: string };

export interface DisplayPollerOptions {
  http: Got;
  apiBaseUrl: string;
  panelId: string;
  apiKey: string;
  timeoutMs: number;
  /** The ETag of the document on screen, sent as If-None-Match (null → unconditional). */
  currentETag: () => string | null;
}

/**
 * One conditional GET of the panel's display document (`getDisplay` through the panel's typed
 * client). The size cap is enforced while downloading (declared length or bytes received), so
 * an oversized body is never held whole nor parsed. Single-flight: a poll asked for while one
 * runs shares its answer.
 */
export class DisplayPoller {
  private inFlight: Promise<PollOutcome> | null = null;
  private cancelInFlight: (() => void) | null = null;
  private readonly options: DisplayPollerOptions;
  private readonly api: BackendApiClient;

  constructor(options: DisplayPollerOptions) {
    this.options = options;
    this.api = panelApiClient({ apiBaseUrl: options.apiBaseUrl, apiKey: options.apiKey, http: options.http, timeoutMs: options.timeoutMs });
  }

  poll(): Promise<PollOutcome> {
    if (!this.inFlight) {
      this.inFlight = this.fetch().finally(() => {
        this.inFlight = null;
        this.cancelInFlight = null;
      });
    }
    return this.inFlight;
  }

  /** Aborts a poll in flight (stop): its outcome is a network error nobody reads. */
  cancel(): void {
    this.cancelInFlight?.();
  }

  private async fetch(): Promise<PollOutcome> {
    const o = this.options;
    const etag = o.currentETag();
    const abort = new AbortController();
    this.cancelInFlight = () => abort.abort();
    try {
      // The bytes go to the document gate unjudged: it judges HTTP and MQTT documents alike.
      const answer = await this.api.sendRaw(
        'getDisplay',
        { params: { panelId: o.panelId } },
        {
          headers: etag ? { 'if-none-match': etag } : {},
          signal: abort.signal,
          maxResponseBytes: DISPLAY_DOCUMENT_MAX_BYTES,
        },
      );
      if (answer.status === 304) return { kind: 'not-modified' };
      return { kind: 'document', body: Buffer.from(answer.body.buffer, answer.body.byteOffset, answer.body.byteLength) };
    } catch (err) {
      if (!(err instanceof ApiCallError)) return { kind: 'network-error', message: (err as Error).message };
      if (err.details.transportFailure === 'too-large')
        return { kind: 'oversized', bytes: err.details.bytes ?? DISPLAY_DOCUMENT_MAX_BYTES + 1 };
      if (err.kind === 'refused' && err.status === 404) return { kind: 'none' };
      if (err.status !== null) return { kind: 'http-error', status: err.status };
      return { kind: 'network-error', message: err.message };
    }
  }
}
