import type { Readable } from 'node:stream';
import got, { type Got, type OptionsInit, type Request } from 'got';

/**
 * Bounds on one transfer, so a server (or anything between) that trickles, stalls or never
 * stops cannot hold the updater: an overall deadline from the request to the last byte, and
 * a minimum rate measured over consecutive windows (an idle timeout alone lets a server send
 * one byte every few seconds forever).
 */
export interface TransferLimits {
  /** The whole request, from connecting to the last byte. */
  deadlineMs: number;
  /** Every full window must bring at least this many bytes per second. */
  minBytesPerSecond: number;
  /** Length of a rate window; the first one also covers connecting and the response headers. */
  rateWindowMs: number;
}

/** A JSON document: the transfer limits plus a cap on its size. */
export interface JsonFetchLimits extends TransferLimits {
  maxBytes: number;
}

export class TransferLimitError extends Error {
  override name = 'TransferLimitError';
  constructor(
    readonly code: 'deadline' | 'too-slow' | 'too-large',
    message: string,
  ) {
    super(message);
  }
}

/** A streamed HTTP response: status, headers and the body (consumed once). */
export interface OtaStreamResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** Throws TransferLimitError when the limits given to getStream are broken. */
  body: AsyncIterable<Uint8Array>;
  abort(): void;
}

/** What the updater needs from HTTP (injected; the got implementation is below). */
export interface OtaHttpClient {
  /** `body` is the parsed JSON of a 200 answer, else null. Throws TransferLimitError. */
  getJson(url: string, limits: JsonFetchLimits, signal?: AbortSignal): Promise<{ status: number; body: unknown }>;
  getStream(url: string, headers: Record<string, string>, limits: TransferLimits, signal?: AbortSignal): Promise<OtaStreamResponse>;
  postJson(url: string, body: unknown): Promise<number>;
}

export interface GotOtaHttpClientOptions {
  /**
   * The panel's credentials and the one origin they may go to (the backend's, where the
   * manifest comes from). A bundle URL may name any host: a signed manifest cannot vouch for
   * who runs that host, so the API key is never sent there, nor across a redirect.
   */
  credentials?: { origin: string; headers: Record<string, string> };
  /** Idle timeout for connect / response / socket (the transfer limits bound the rest). */
  timeoutMs?: number;
  /** The client to use: got extended with the panel's trust store (`PanelTransport.http`); default got. */
  got?: Got;
}

export class GotOtaHttpClient implements OtaHttpClient {
  private readonly credentialOrigin: string | null;

  constructor(private readonly options: GotOtaHttpClientOptions = {}) {
    this.credentialOrigin = options.credentials ? new URL(options.credentials.origin).origin : null;
  }

  /** The credential headers for `url`: only when it is on the credentials' origin. */
  headersFor(url: string): Record<string, string> {
    const c = this.options.credentials;
    return c && new URL(url).origin === this.credentialOrigin ? { ...c.headers } : {};
  }

  private common(url: string): Omit<OptionsInit, 'isStream'> & { headers: Record<string, string> } {
    const t = this.options.timeoutMs ?? 30_000;
    const credentialNames = Object.keys(this.options.credentials?.headers ?? {}).map((h) => h.toLowerCase());
    const origin = this.credentialOrigin;
    return {
      headers: this.headersFor(url),
      throwHttpErrors: false,
      retry: { limit: 0 },
      timeout: { connect: t, response: t, socket: t },
      hooks: {
        beforeRedirect: [
          (next) => {
            if (next.url !== undefined && new URL(String(next.url)).origin !== origin) {
              for (const name of Object.keys(next.headers)) if (credentialNames.includes(name.toLowerCase())) delete next.headers[name];
            }
          },
        ],
      },
    };
  }

  async getJson(url: string, limits: JsonFetchLimits, signal?: AbortSignal): Promise<{ status: number; body: unknown }> {
    const res = await this.getStream(url, { accept: 'application/json' }, limits, signal);
    if (res.status !== 200) {
      res.abort();
      return { status: res.status, body: null };
    }
    const declared = Number(res.headers['content-length'] ?? NaN);
    if (declared > limits.maxBytes) {
      res.abort();
      throw new TransferLimitError('too-large', `announces ${declared} bytes, more than the ${limits.maxBytes} allowed`);
    }
    const chunks: Buffer[] = [];
    let total = 0;
    for await (const chunk of res.body) {
      total += chunk.length;
      if (total > limits.maxBytes) {
        res.abort();
        throw new TransferLimitError('too-large', `more than ${limits.maxBytes} bytes`);
      }
      chunks.push(Buffer.from(chunk));
    }
    return { status: 200, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) };
  }

  getStream(url: string, headers: Record<string, string>, limits: TransferLimits, signal?: AbortSignal): Promise<OtaStreamResponse> {
    const common = this.common(url);
    const stream = (this.options.got ?? got).stream(url, {
      ...common,
      headers: { ...common.headers, ...headers },
      decompress: false,
      ...(signal ? { signal } : {}),
    });
    const guarded = guardTransfer(stream, limits);
    return new Promise((resolve, reject) => {
      const failed = (e: Error) => reject(e.cause instanceof TransferLimitError ? e.cause : e);
      stream.once('error', failed);
      stream.once('response', (res: { statusCode: number; headers: Record<string, string | string[] | undefined> }) => {
        stream.off('error', failed);
        resolve({ status: res.statusCode, headers: res.headers, body: guarded.body, abort: guarded.abort });
      });
    });
  }

  async postJson(url: string, body: unknown): Promise<number> {
    const res = await (this.options.got ?? got).post(url, { ...this.common(url), json: body, responseType: 'text' });
    return res.statusCode;
  }
}

/**
 * Reads `source` (a request's body) under `limits`: when the deadline passes or a rate window
 * brings too few bytes, the request is destroyed with a TransferLimitError, which the reader
 * of `body` gets (after the chunks that had arrived). Leaving the read loop early, or
 * `abort()`, destroys the request.
 */
export function guardTransfer(source: Request | Readable, limits: TransferLimits): { body: AsyncIterable<Uint8Array>; abort(): void } {
  let windowBytes = 0;
  // Kept here: the request library may wrap the error it is destroyed with.
  let broken: TransferLimitError | null = null;
  const fail = (e: TransferLimitError) => {
    stopTimers();
    broken = e;
    source.destroy(e);
  };
  const needPerWindow = (limits.minBytesPerSecond * limits.rateWindowMs) / 1000;
  const deadline = setTimeout(
    () => fail(new TransferLimitError('deadline', `transfer not done within ${limits.deadlineMs} ms`)),
    limits.deadlineMs,
  );
  const rate = setInterval(() => {
    if (windowBytes < needPerWindow)
      fail(
        new TransferLimitError('too-slow', `${windowBytes} bytes in ${limits.rateWindowMs} ms, below ${limits.minBytesPerSecond} bytes/s`),
      );
    windowBytes = 0;
  }, limits.rateWindowMs);
  const stopTimers = () => {
    clearTimeout(deadline);
    clearInterval(rate);
  };
  source.once('close', stopTimers);
  source.once('end', stopTimers);
  // The reader sees errors through its loop; this keeps one that arrives before the loop
  // starts (or a second one from the same request) from being an uncaught exception.
  source.on('error', () => undefined);
  async function* body(): AsyncGenerator<Uint8Array> {
    try {
      for await (const chunk of source as AsyncIterable<Buffer>) {
        windowBytes += chunk.length;
        yield chunk;
      }
    } catch (e) {
      throw broken ?? e;
    } finally {
      stopTimers();
      if (!source.readableEnded) source.destroy();
    }
  }
  return {
    body: body(),
    abort: () => {
      stopTimers();
      source.destroy();
    },
  };
}
