import type { Got } from 'got';
import { DISPLAY_DOCUMENT_MAX_BYTES } from '@airpanel/contract';
import { bearer, panelDisplayUrl } from './backend-api.js';

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
 * One conditional GET of the panel's display document. The size cap is enforced while
 * downloading (declared length or bytes received), so an oversized body is never held whole
 * nor parsed. Single-flight: a poll asked for while one runs shares its answer.
 */
export class DisplayPoller {
  private inFlight: Promise<PollOutcome> | null = null;
  private cancelInFlight: (() => void) | null = null;
  private readonly options: DisplayPollerOptions;

  constructor(options: DisplayPollerOptions) {
    this.options = options;
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
    const headers: Record<string, string> = { authorization: bearer(o.apiKey), accept: 'application/json' };
    const etag = o.currentETag();
    if (etag) headers['if-none-match'] = etag;
    let tooBig = 0;
    try {
      const request = o.http.get(panelDisplayUrl(o.apiBaseUrl, o.panelId), {
        headers,
        responseType: 'buffer',
        throwHttpErrors: false,
        followRedirect: false,
        retry: { limit: 0 },
        timeout: { request: o.timeoutMs },
      });
      this.cancelInFlight = () => request.cancel();
      request.on('downloadProgress', (progress) => {
        const size = Math.max(progress.transferred, progress.total ?? 0);
        if (size > DISPLAY_DOCUMENT_MAX_BYTES && tooBig === 0) {
          tooBig = size;
          request.cancel();
        }
      });
      const response = await request;
      if (response.statusCode === 304) return { kind: 'not-modified' };
      if (response.statusCode === 404) return { kind: 'none' };
      if (response.statusCode !== 200) return { kind: 'http-error', status: response.statusCode };
      if (response.body.byteLength > DISPLAY_DOCUMENT_MAX_BYTES) return { kind: 'oversized', bytes: response.body.byteLength };
      return { kind: 'document', body: response.body };
    } catch (err) {
      if (tooBig > 0) return { kind: 'oversized', bytes: tooBig };
      return { kind: 'network-error', message: (err as Error).message };
    }
  }
}
