// Shared fixtures of the TLS panel tests: a test CA, the real backend behind TLS fronts, a panel core.
// The hooks below register in each test file that imports this module (vitest isolates each file's
// modules); the `let`s are live bindings the tests read after beforeAll has set them.
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { type AddressInfo, createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import got, { type Got } from 'got';
import { connect } from 'mqtt';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { type ContentSet, panelTopics, PanelRegistration } from '@airpanel/contract';
import { loadPanelConfig } from '@airpanel/panel/core/config';
import { PanelCore, type CoreTuning } from '@airpanel/panel/core/panel-core';
import { capturingLogger, type LogEntry, RecordingHostActions, writePanelJson } from '@airpanel/panel/core/testing/fixtures';
import { createTestPki, type IssuedCertificate, type TestPki } from '@airpanel/panel/core/transport/testing/test-pki';
import { TlsTerminator } from '@airpanel/panel/core/transport/testing/tls-terminator';
import type { Backend } from '@airpanel/backend/backend';
import { silentLogger } from '@airpanel/backend/logger';
import { Cleanups, startBackend } from './harness/index.js';
import { API_PREFIX } from '@airpanel/contract/api';

export const ADMIN_TOKEN = 'admin-token-for-tls-panel-tests-0123456789';
export const DAY = 86_400_000;

export let work = '';
export let pki: TestPki;
export let otherPki: TestPki;
export let good: IssuedCertificate;
export let expired: IssuedCertificate;
export let stranger: IssuedCertificate;
export let elsewhere: IssuedCertificate;
export let backend: Backend;
export let admin: Got;
export let https: TlsTerminator;
export let mqtts: TlsTerminator;

const backendCleanups = new Cleanups();

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'airpanel-tls-panel-'));
  pki = await createTestPki(join(work, 'pki'));
  otherPki = await createTestPki(join(work, 'other-pki'), 'Somebody Else CA');
  good = await pki.issueServer('backend');
  expired = await pki.issueServer('expired', { notBefore: new Date(Date.now() - 40 * DAY), notAfter: new Date(Date.now() - DAY) });
  stranger = await otherPki.issueServer('stranger');
  elsewhere = await pki.issueServer('elsewhere', { hosts: ['backend.example'] });
  backend = (
    await startBackend({
      mode: 'in-process',
      cleanups: backendCleanups,
      dataDir: join(work, 'backend'),
      adminToken: ADMIN_TOKEN,
      backend: { logger: silentLogger, startLoops: false },
    })
  ).backend;
  admin = got.extend({
    prefixUrl: `${backend.url}${API_PREFIX}`,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    retry: { limit: 0 },
  });
  https = await TlsTerminator.start({ targetPort: Number(new URL(backend.url).port), certPem: good.certPem, keyPem: good.keyPem });
  mqtts = await TlsTerminator.start({ targetPort: Number(new URL(backend.mqttUrl!).port), certPem: good.certPem, keyPem: good.keyPem });
}, 60_000);

afterAll(async () => {
  await https?.close();
  await mqtts?.close();
  await backendCleanups.run();
  if (work) await rm(work, { recursive: true, force: true });
});

export const stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (stops.length) await stops.pop()!();
  for (const front of [https, mqtts]) front.setCertificate(good.certPem, good.keyPem);
});

export const FAST: Partial<CoreTuning> = {
  freshnessWindowMs: 2_000,
  pollIntervalMs: 300,
  firstPollMaxDelayMs: 20,
  reconnectBackoff: { minMs: 20, baseMs: 50, maxMs: 200 },
  stableConnectionMs: 100,
  httpTimeoutMs: 3_000,
  connectTimeoutMs: 3_000,
};

/** Registers a panel and writes its panel.json with the TLS endpoints and the CA beside it. */
export async function provision(panelId: string, o: { mqtt?: boolean } = {}): Promise<string> {
  const registration = PanelRegistration.parse(await admin.post('panels', { json: { id: panelId, name: `TLS ${panelId}` } }).json());
  const dataDir = join(work, panelId);
  await writePanelJson(dataDir, {
    schemaVersion: 1,
    panelId,
    apiKey: registration.apiKey,
    name: registration.panel.name,
    endpoints: {
      apiBaseUrl: `https://127.0.0.1:${https.port}${API_PREFIX}`,
      mqttUrl: o.mqtt === false ? null : `mqtts://127.0.0.1:${mqtts.port}`,
      topics: panelTopics(panelId),
    },
    caFile: 'ca.pem',
  });
  await copyFile(pki.caPath, join(dataDir, 'ca.pem'));
  return dataDir;
}

export async function startCore(dataDir: string, tuning: Partial<CoreTuning> = {}): Promise<{ core: PanelCore; entries: LogEntry[] }> {
  const { logger, entries } = capturingLogger();
  const core = new PanelCore({
    dataDir,
    config: await loadPanelConfig(dataDir),
    mqttConnect: connect,
    http: got,
    hostActions: new RecordingHostActions(),
    logger,
    firmwareVersion: '1.0.0-tls',
    tuning: { ...FAST, ...tuning },
  });
  stops.push(() => core.stop());
  await core.start();
  return { core, entries };
}

export async function editHeadlines(prefix: string): Promise<void> {
  const { id: _id, ...body } = (await admin.get('content-sets/default-en').json()) as ContentSet;
  for (const level of Object.keys(body.byLevel)) body.byLevel[level] = { ...body.byLevel[level]!, headline: `${prefix} ${level}` };
  await admin.put('content-sets/default-en', { json: body });
}

export function headline(core: PanelCore): string | null {
  const view = core.getView();
  return view.kind === 'content' ? view.document.content.headline : null;
}

export function revision(core: PanelCore): number {
  const view = core.getView();
  return view.kind === 'content' ? view.document.revision : -1;
}

/** A port nothing listens on. */
export async function closedPort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  await new Promise((r) => server.close(r));
  return port;
}

export const accepted = (entries: LogEntry[], source: 'mqtt' | 'http') =>
  entries.filter((e) => e.message === 'document accepted' && e.source === source).length;
