// The panel core over MQTTS against a real Mosquitto with the TLS listener the backend's
// mosquitto-config writes (client certificates required, CN = panel id, the private CA's CRL),
// the backend joining it in external mode, the API behind a TLS front with the same CA's server
// certificate. The CA, the server certificate and the panel's client certificate come from the
// backend's own PrivateCa (server-stub/src/tls). Live over MQTTS with mTLS, a change pushed;
// without its client certificate and after revocation the panel is refused, names it TLS-4
// (Mosquitto is OpenSSL: it sends the alert) and keeps its content.
import { chmod, copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import got from 'got';
import { connect } from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { panelTopics, PanelRegistration } from '@airpanel/contract';
import { API_PREFIX } from '@airpanel/contract/api';
import { loadPanelConfig } from '@airpanel/panel/core/config';
import { PanelCore } from '@airpanel/panel/core/panel-core';
import { capturingLogger, type LogEntry, RecordingHostActions, waitFor, writePanelJson } from '@airpanel/panel/core/testing/fixtures';
import { TlsTerminator } from '@airpanel/panel/core/transport/testing/tls-terminator';
import type { Backend } from '@airpanel/backend/backend';
import { silentLogger } from '@airpanel/backend/logger';
import { startMosquitto, type RunningMosquitto } from '@airpanel/backend/mqtt/test-support/mosquitto-process';
import { CA_FILES, PrivateCa } from '@airpanel/backend/tls/private-ca';
import { createCertificateRequest, generateKeyPair, privateKeyToPem } from '@airpanel/backend/tls/x509';
import { AdminApi, Cleanups, startBackend } from './harness/index.js';

const ADMIN_TOKEN = 'admin-token-for-tls-panel-mosquitto-0123456789';

let work = '';
let ca: PrivateCa;
let broker: RunningMosquitto;
let backend: Backend;
let admin: AdminApi;
const cleanups = new Cleanups();
let https: TlsTerminator;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'airpanel-tls-panel-mosquitto-'));
  const caDir = join(work, 'ca');
  ca = await PrivateCa.open({ dir: caDir, serverNames: ['127.0.0.1'], clock: { now: () => Date.now() }, logger: silentLogger });
  broker = await startMosquitto({
    tls: {
      certFile: join(caDir, CA_FILES.serverCert),
      keyFile: join(caDir, CA_FILES.serverKey),
      caFile: join(caDir, CA_FILES.caCert),
      crlFile: join(caDir, CA_FILES.crl),
      requireCertificate: true,
    },
  });
  const started = await startBackend({
    mode: 'in-process',
    cleanups,
    dataDir: join(work, 'backend'),
    adminToken: ADMIN_TOKEN,
    backend: { startLoops: false },
    mqtt: {
      mode: 'external',
      url: broker.url,
      username: broker.backendUsername,
      password: broker.backendPassword,
      publicUrl: broker.tlsUrl!,
    },
  });
  backend = started.backend;
  admin = new AdminApi(backend.url, ADMIN_TOKEN);
  const server = ca.serverCredentials;
  https = await TlsTerminator.start({ targetPort: Number(new URL(backend.url).port), certPem: server.cert, keyPem: server.key });
}, 60_000);

afterAll(async () => {
  await https?.close();
  await cleanups.run();
  await broker?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

const stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (stops.length) await stops.pop()!();
});

/** Registers the panel (the backend makes its Mosquitto account), signs its certificate, writes panel.json and the files beside it. */
async function provision(panelId: string): Promise<string> {
  const registration = PanelRegistration.parse(
    await admin.client.call('createPanel', { body: { id: panelId, name: `Mosquitto ${panelId}` } }),
  );
  expect(registration.endpoints.mqttUrl).toBe(broker.tlsUrl);
  const dataDir = join(work, panelId);
  const keys = await generateKeyPair();
  const signed = await ca.signPanelCertificate(panelId, await createCertificateRequest(keys, panelId));
  await writePanelJson(dataDir, {
    schemaVersion: 1,
    panelId,
    apiKey: registration.apiKey,
    name: registration.panel.name,
    endpoints: { apiBaseUrl: `https://127.0.0.1:${https.port}${API_PREFIX}`, mqttUrl: broker.tlsUrl, topics: panelTopics(panelId) },
    caFile: 'ca.pem',
    clientCertFile: 'client.pem',
    clientKeyFile: 'client.key',
  });
  await copyFile(join(work, 'ca', CA_FILES.caCert), join(dataDir, 'ca.pem'));
  await writeFile(join(dataDir, 'client.pem'), signed.certificatePem);
  await writeFile(join(dataDir, 'client.key'), await privateKeyToPem(keys.privateKey), { mode: 0o600 });
  await chmod(join(dataDir, 'client.key'), 0o600);
  return dataDir;
}

async function startCore(dataDir: string): Promise<{ core: PanelCore; entries: LogEntry[] }> {
  const { logger, entries } = capturingLogger();
  const core = new PanelCore({
    dataDir,
    config: await loadPanelConfig(dataDir),
    mqttConnect: connect,
    http: got,
    hostActions: new RecordingHostActions(),
    logger,
    firmwareVersion: '1.0.0-tls-mosquitto',
    random: () => 0.5,
    // Polling far beyond the test: whatever arrives, arrives over MQTTS.
    tuning: {
      pollIntervalMs: 600_000,
      firstPollMaxDelayMs: 600_000,
      freshnessWindowMs: 2_000,
      reconnectBackoff: { minMs: 20, baseMs: 60, maxMs: 200 },
      stableConnectionMs: 100,
    },
  });
  stops.push(() => core.stop());
  await core.start();
  return { core, entries };
}

const revisionOf = (core: PanelCore) => {
  const view = core.getView();
  return view.kind === 'content' ? view.document.revision : -1;
};

describe('panel core over MQTTS to a real Mosquitto with client certificates', () => {
  it('live over MQTTS with its certificate, a change pushed; refused without it and once revoked (TLS-4), content kept', async () => {
    const dataDir = await provision('mosq-tls-a');
    const first = await startCore(dataDir);
    await waitFor('mqtt up over TLS with mTLS', () => first.entries.some((e) => e.message === 'mqtt up'), 10_000);
    await waitFor('live on the pushed document', () => first.core.state.name === 'live', 10_000);
    expect(first.entries.find((e) => e.message === 'mqtt up')?.url).toBe(broker.tlsUrl);

    const before = revisionOf(first.core);
    const { id: _id, ...body } = await admin.client.call('getContentSet', { params: { contentSetId: 'default-en' } });
    for (const level of Object.keys(body.byLevel)) body.byLevel[level] = { ...body.byLevel[level]!, headline: `Mosquitto ${level}` };
    await admin.client.call('replaceContentSet', { params: { contentSetId: 'default-en' }, body });
    await waitFor('the change over MQTTS', () => revisionOf(first.core) > before, 5_000);
    expect(
      first.entries.some((e) => e.message === 'document accepted' && e.source === 'mqtt' && e.revision === revisionOf(first.core)),
    ).toBe(true);
    const shown = revisionOf(first.core);
    await first.core.stop();

    // Without its client certificate: Mosquitto's TLS alert, named TLS-4; the cache is shown.
    const config = JSON.parse(await readFile(join(dataDir, 'panel.json'), 'utf8')) as Record<string, unknown>;
    await writePanelJson(dataDir, { ...config, clientCertFile: null, clientKeyFile: null });
    const bare = await startCore(dataDir);
    expect(bare.core.state.name).toBe('showing-cached');
    await waitFor(
      'TLS-4 without a client certificate',
      () => bare.entries.some((e) => e.message === 'certificate problem' && e.code === 'TLS-4' && e.channel === 'mqtt'),
      10_000,
    );
    expect(bare.core.currentStatus().lastError).toMatch(/^TLS-4: /);
    expect(revisionOf(bare.core)).toBe(shown);
    await bare.core.stop();

    // Revoked (the backend's CA puts it in the CRL; Mosquitto reads it at restart): TLS-4 again.
    await writePanelJson(dataDir, config);
    await ca.revokePanel('mosq-tls-a');
    await broker.restart();
    const revoked = await startCore(dataDir);
    await waitFor(
      'TLS-4 for the revoked certificate',
      () => revoked.entries.some((e) => e.message === 'certificate problem' && e.code === 'TLS-4'),
      10_000,
    );
    expect(revoked.entries.some((e) => e.message === 'mqtt up')).toBe(false);
    await waitFor('stale after the window, same content', () => revoked.core.state.name === 'stale', 5_000);
    expect(revisionOf(revoked.core)).toBe(shown);
  });
});
