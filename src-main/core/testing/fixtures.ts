// Test support only: documents, configs, a capturing winston logger, temp dirs, waiting.
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import winston from 'winston';
import { DEFAULT_CONTENT_SET, DEFAULT_LEVEL_SCHEME, type DisplayDocument, type PanelConfigInput, panelTopics } from '@airpanel/contract';
import type { HostActions } from '../host.js';

export const TEST_API_KEY = 'k'.repeat(40);

export function makeDocument(panelId: string, revision: number, level: 'good' | 'moderate' | 'bad' = 'good'): DisplayDocument {
  const index = DEFAULT_LEVEL_SCHEME.levels.findIndex((l) => l.id === level);
  return {
    schemaVersion: 1,
    panelId,
    revision,
    issuedAt: '2026-01-01T00:00:00.000Z',
    validUntil: '2026-01-01T01:00:00.000Z',
    level: { id: level, label: DEFAULT_LEVEL_SCHEME.levels[index]!.label, index, of: DEFAULT_LEVEL_SCHEME.levels.length },
    readings: { measuredAt: '2026-01-01T00:00:00.000Z', source: 'test', values: { pm25: 10 }, dominant: 'pm25' },
    content: DEFAULT_CONTENT_SET.byLevel[level]!,
    locale: 'en',
    scheme: DEFAULT_LEVEL_SCHEME,
  };
}

export function makeConfig(
  panelId: string,
  apiBaseUrl: string,
  mqttUrl: string | null,
  extra: Partial<PanelConfigInput> = {},
): PanelConfigInput {
  return {
    schemaVersion: 1,
    panelId,
    apiKey: TEST_API_KEY,
    name: `Panel ${panelId}`,
    endpoints: { apiBaseUrl, mqttUrl, topics: panelTopics(panelId) },
    ...extra,
  };
}

export async function makeDataDir(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'airpanel-core-'));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export async function writePanelJson(dataDir: string, content: unknown): Promise<void> {
  await mkdir(dataDir, { recursive: true });
  await writeFile(join(dataDir, 'panel.json'), typeof content === 'string' ? content : JSON.stringify(content));
}

export interface LogEntry {
  level: string;
  message: string;
  [key: string]: unknown;
}

/** A real winston logger whose JSON lines are kept in memory for assertions. */
export function capturingLogger(): { logger: winston.Logger; entries: LogEntry[] } {
  const entries: LogEntry[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line.trim()) entries.push(JSON.parse(line) as LogEntry);
      done();
    },
  });
  const logger = winston.createLogger({
    level: 'debug',
    format: winston.format.json(),
    transports: [new winston.transports.Stream({ stream: sink })],
  });
  return { logger, entries };
}

/** The host seam, recording what the core asked of it. */
export class RecordingHostActions implements HostActions {
  readonly calls: string[] = [];
  screenshot: Uint8Array | null = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 1, 2, 3]);
  async reloadRenderer(): Promise<void> {
    this.calls.push('reload');
  }
  async restartApp(): Promise<void> {
    this.calls.push('restart');
  }
  async captureScreenshot(): Promise<Uint8Array | null> {
    this.calls.push('screenshot');
    return this.screenshot;
  }
}

/** Resolves when `check` returns a truthy value; rejects with `what` after the timeout. */
export async function waitFor<T>(
  what: string,
  check: () => T | undefined | null | false,
  timeoutMs = 5_000,
  refresh?: () => Promise<void>,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (refresh) await refresh();
    const value = check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
