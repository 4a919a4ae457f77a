import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createBackend, type Backend, type BackendOptions } from './backend.js';
import { silentLogger } from './logger.js';

/** Helpers for the backend's own tests: a real backend on 127.0.0.1:0 over a temp data dir. */

export function makeTempDir(prefix = 'airpanel-backend-'): { dir: string; remove: () => void } {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export async function startTestBackend(dataDir: string, overrides: Partial<BackendOptions> = {}): Promise<Backend> {
  return createBackend({
    dataDir,
    host: '127.0.0.1',
    port: 0,
    mqtt: { mode: 'none' },
    logger: silentLogger,
    startLoops: false,
    ...overrides,
  });
}

export interface ApiAnswer {
  status: number;
  headers: Headers;
  text: string;
  /** The parsed body, or undefined when there is none or it is not JSON. */
  json: unknown;
}

/** A tiny HTTP client over fetch, so each test reads as the requests it makes. */
export function apiClient(baseUrl: string) {
  return async function call(
    method: string,
    urlPath: string,
    options: { token?: string; body?: unknown; rawBody?: string; headers?: Record<string, string> } = {},
  ): Promise<ApiAnswer> {
    const headers: Record<string, string> = { ...options.headers };
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    let body: string | undefined;
    if (options.rawBody !== undefined) {
      body = options.rawBody;
      headers['content-type'] ??= 'application/json';
    } else if (options.body !== undefined) {
      body = JSON.stringify(options.body);
      headers['content-type'] = 'application/json';
    }
    const response = await fetch(`${baseUrl}${urlPath}`, { method, headers, body });
    const text = await response.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    return { status: response.status, headers: response.headers, text, json };
  };
}
