import type { Got } from 'got';
import {
  API_PREFIX,
  ApiTransportError,
  createApiClient,
  endpoints,
  endpointUrl,
  serverRootOf,
  type ApiTransport,
  type BackendApiClient,
} from '@airpanel/contract/api';

/**
 * The backend as the panel calls it (REST, Bearer = the panel's API key): the typed API client
 * of `@airpanel/contract/api` over the panel's own `got` (the instance the caller gives,
 * already carrying the trust store's CA and client certificate), and the URLs of the routes the
 * panel still fetches with `got` itself, all built from the contract's endpoint table.
 *
 * `endpoints.apiBaseUrl` in panel.json is the versioned API root the backend hands out at
 * registration (`http://host:port/api/v1`). A bare server root (`http://host:port`) is
 * accepted too, since hand-written configs use it.
 */
export function apiRoot(apiBaseUrl: string): string {
  return `${serverRootOf(apiBaseUrl)}${API_PREFIX}`;
}

/** GET: the panel's current DisplayDocument, with ETag; `If-None-Match` → 304. */
export function panelDisplayUrl(apiBaseUrl: string, panelId: string): string {
  return endpointUrl(serverRootOf(apiBaseUrl), endpoints.getDisplay, { panelId });
}

/** PUT `image/png`: the answer to a `screenshot` command. */
export function panelScreenshotUrl(apiBaseUrl: string, panelId: string): string {
  return endpointUrl(serverRootOf(apiBaseUrl), endpoints.uploadScreenshot, { panelId });
}

/** The OTA routes the updater fetches with its transfer limits (update/http.ts). */
export function updateManifestUrl(apiBaseUrl: string, channel: string): string {
  return endpointUrl(serverRootOf(apiBaseUrl), endpoints.getChannelManifest, { channel });
}

export function updateReportUrl(apiBaseUrl: string, panelId: string): string {
  return endpointUrl(serverRootOf(apiBaseUrl), endpoints.reportUpdate, { panelId });
}

export function bearer(apiKey: string): string {
  return `Bearer ${apiKey}`;
}

/**
 * The panel's typed client: its API key, its `got` (trust store, no redirects, no retries)
 * and a deadline per call.
 */
export function panelApiClient(o: { apiBaseUrl: string; apiKey: string; http: Got; timeoutMs: number }): BackendApiClient {
  return createApiClient({
    baseUrl: o.apiBaseUrl,
    credentials: { bearer: o.apiKey },
    transport: gotTransport(o.http),
    timeoutMs: o.timeoutMs,
  });
}

/**
 * An ApiTransport over `got`: no redirects followed, no retries, the whole exchange bounded by
 * the request's deadline, and the answer cut off as soon as it passes the size cap (declared
 * length or bytes received), so an oversized body is never held whole.
 */
export function gotTransport(http: Got): ApiTransport {
  return {
    async send(request) {
      let tooLarge = 0;
      const call = http(request.url, {
        method: request.method,
        headers: request.headers,
        ...(request.body === undefined
          ? {}
          : {
              body:
                typeof request.body === 'string'
                  ? request.body
                  : isBytes(request.body)
                    ? Buffer.from(request.body.buffer, request.body.byteOffset, request.body.byteLength)
                    : asyncBody(request.body),
            }),
        responseType: 'buffer',
        throwHttpErrors: false,
        followRedirect: false,
        retry: { limit: 0 },
        timeout: { request: request.timeoutMs },
        ...(request.signal ? { signal: request.signal as AbortSignal } : {}),
      });
      call.on('downloadProgress', (progress) => {
        const size = Math.max(progress.transferred, progress.total ?? 0);
        if (size > request.maxResponseBytes && tooLarge === 0) {
          tooLarge = size;
          call.cancel();
        }
      });
      try {
        const response = await call;
        const headers: Record<string, string> = {};
        for (const [name, value] of Object.entries(response.headers)) {
          if (value !== undefined) headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
        }
        if (response.body.byteLength > request.maxResponseBytes) {
          throw new ApiTransportError(
            'too-large',
            `the answer is more than the ${request.maxResponseBytes} bytes allowed`,
            response.body.byteLength,
          );
        }
        return {
          status: response.statusCode,
          headers,
          body: new Uint8Array(response.body.buffer, response.body.byteOffset, response.body.byteLength),
        };
      } catch (error) {
        if (error instanceof ApiTransportError) throw error;
        if (tooLarge > 0)
          throw new ApiTransportError('too-large', `the answer is more than the ${request.maxResponseBytes} bytes allowed`, tooLarge);
        const e = error as Error & { code?: string; name: string };
        if (e.name === 'TimeoutError' || e.code === 'ETIMEDOUT') throw new ApiTransportError('timeout', e.message);
        if (request.signal?.aborted || e.name === 'AbortError') throw new ApiTransportError('aborted', e.message);
        // The message keeps what the trust store added (`TLS-n: …`) for the status.
        throw new ApiTransportError('network', e.message);
      }
    },
  };
}

function isBytes(body: unknown): body is Uint8Array {
  return body instanceof Uint8Array;
}

async function* asyncBody(body: AsyncIterable<Uint8Array>): AsyncGenerator<Buffer> {
  for await (const chunk of body) yield Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
}
