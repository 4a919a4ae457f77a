import got from 'got';

/** A streamed HTTP response: status, headers and the body (consumed once). */
export interface OtaStreamResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: AsyncIterable<Uint8Array>;
  abort(): void;
}

/** What the updater needs from HTTP (injected; the got implementation is below). */
export interface OtaHttpClient {
  getJson(url: string): Promise<{ status: number; body: unknown }>;
  getStream(url: string, headers: Record<string, string>): Promise<OtaStreamResponse>;
  postJson(url: string, body: unknown): Promise<number>;
}

export interface GotOtaHttpClientOptions {
  /** Extra headers on every request, e.g. the panel's credentials. */
  headers?: Record<string, string>;
  timeoutMs?: number;
}

export class GotOtaHttpClient implements OtaHttpClient {
  constructor(private readonly options: GotOtaHttpClientOptions = {}) {}

  private get common() {
    const t = this.options.timeoutMs ?? 30_000;
    return { headers: this.options.headers ?? {}, throwHttpErrors: false, retry: { limit: 0 }, timeout: { connect: t, response: t, socket: t } } as const;
  }

  async getJson(url: string): Promise<{ status: number; body: unknown }> {
    const res = await got.get(url, { ...this.common, responseType: 'text' });
    let body: unknown = null;
    if (res.statusCode === 200) body = JSON.parse(res.body);
    return { status: res.statusCode, body };
  }

  getStream(url: string, headers: Record<string, string>): Promise<OtaStreamResponse> {
    return new Promise((resolve, reject) => {
      const stream = got.stream(url, { ...this.common, headers: { ...this.common.headers, ...headers }, decompress: false });
      stream.once('error', reject);
      stream.once('response', (res: { statusCode: number; headers: Record<string, string | string[] | undefined> }) => {
        stream.off('error', reject);
        resolve({ status: res.statusCode, headers: res.headers, body: stream, abort: () => stream.destroy() });
      });
    });
  }

  async postJson(url: string, body: unknown): Promise<number> {
    const res = await got.post(url, { ...this.common, json: body });
    return res.statusCode;
  }
}
