// The panel core over HTTPS + MQTTS with a private CA, against the real backend (createBackend:
// fastify, SQLite, the embedded aedes broker) behind TLS fronts on 127.0.0.1 that terminate TLS
// as a reverse proxy would, with certificates of a test CA made by openssl. Live, a change →
// the new document, polling over HTTPS while MQTT is away; a wrong CA, an expired certificate and
// a wrong host name → refused, named TLS-n in the status and the log, cached content kept (stale
// after the window); plain endpoints or an unreadable CA in panel.json → the maintenance screen's
// CFG-6 / CFG-7 without ever connecting. Then the backend's own HTTPS and MQTTS (createBackend
// tls with its private CA): panel.json written from the registration answer, as provisioning
// does, with and without a client certificate. And OTA through the HTTPS front.
import { chmod, copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { type AddressInfo, createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import got, { type Got } from 'got';
import { connect } from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type ContentSet, panelConfigFromRegistration, panelTopics, PanelRegistration } from '@airpanel/contract';
import { loadPanelConfig } from '@airpanel/panel/core/config';
import { createOtaUpdater } from '@airpanel/panel/core/kiosk/ota';
import { PanelCore, type CoreTuning } from '@airpanel/panel/core/panel-core';
import { capturingLogger, type LogEntry, RecordingHostActions, waitFor, writePanelJson } from '@airpanel/panel/core/testing/fixtures';
import { createTestPki, type IssuedCertificate, type TestPki } from '@airpanel/panel/core/transport/testing/test-pki';
import { TlsTerminator } from '@airpanel/panel/core/transport/testing/tls-terminator';
import { type Backend, createBackend } from '@airpanel/backend/backend';
import { silentLogger } from '@airpanel/backend/logger';
import { createCertificateRequest, generateKeyPair, privateKeyToPem } from '@airpanel/backend/tls/x509';
import * as releaseOps from '@airpanel/release-tools/ops';
import { generateReleaseKey, makeBundle, writeKeyFile, writeKeyring } from './harness/ota/feed.js';

const ADMIN_TOKEN = 'admin-token-for-tls-panel-tests-0123456789';
const DAY = 86_400_000;

let work = '';
let pki: TestPki;
let otherPki: TestPki;
let good: IssuedCertificate;
let expired: IssuedCertificate;
let stranger: IssuedCertificate;
let elsewhere: IssuedCertificate;
let backend: Backend;
let admin: Got;
let https: TlsTerminator;
let mqtts: TlsTerminator;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'airpanel-tls-panel-'));
  pki = await createTestPki(join(work, 'pki'));
  otherPki = await createTestPki(join(work, 'other-pki'), 'Somebody Else CA');
  good = await pki.issueServer('backend');
  expired = await pki.issueServer('expired', { notBefore: new Date(Date.now() - 40 * DAY), notAfter: new Date(Date.now() - DAY) });
  stranger = await otherPki.issueServer('stranger');
  elsewhere = await pki.issueServer('elsewhere', { hosts: ['backend.example'] });
  backend = await createBackend({
    dataDir: join(work, 'backend'),
    port: 0,
    adminToken: ADMIN_TOKEN,
    logger: silentLogger,
    startLoops: false,
    mqtt: { mode: 'embedded', port: 0, host: '127.0.0.1' },
  });
  admin = got.extend({ prefixUrl: `${backend.url}/api/v1`, headers: { authorization: `Bearer ${ADMIN_TOKEN}` }, retry: { limit: 0 } });
  https = await TlsTerminator.start({ targetPort: Number(new URL(backend.url).port), certPem: good.certPem, keyPem: good.keyPem });
  mqtts = await TlsTerminator.start({ targetPort: Number(new URL(backend.mqttUrl!).port), certPem: good.certPem, keyPem: good.keyPem });
}, 60_000);

afterAll(async () => {
  await https?.close();
  await mqtts?.close();
  await backend?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

const stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (stops.length) await stops.pop()!();
  for (const front of [https, mqtts]) front.setCertificate(good.certPem, good.keyPem);
});

const FAST: Partial<CoreTuning> = {
  freshnessWindowMs: 2_000,
  pollIntervalMs: 300,
  firstPollMaxDelayMs: 20,
  reconnectBackoff: { minMs: 20, baseMs: 50, maxMs: 200 },
  stableConnectionMs: 100,
  httpTimeoutMs: 3_000,
  connectTimeoutMs: 3_000,
};

/** Registers a panel and writes its panel.json with the TLS endpoints and the CA beside it. */
async function provision(panelId: string, o: { mqtt?: boolean } = {}): Promise<string> {
  const registration = PanelRegistration.parse(await admin.post('panels', { json: { id: panelId, name: `TLS ${panelId}` } }).json());
  const dataDir = join(work, panelId);
  await writePanelJson(dataDir, {
    schemaVersion: 1,
    panelId,
    apiKey: registration.apiKey,
    name: registration.panel.name,
    endpoints: {
      apiBaseUrl: `https://127.0.0.1:${https.port}/api/v1`,
      mqttUrl: o.mqtt === false ? null : `mqtts://127.0.0.1:${mqtts.port}`,
      topics: panelTopics(panelId),
    },
    caFile: 'ca.pem',
  });
  await copyFile(pki.caPath, join(dataDir, 'ca.pem'));
  return dataDir;
}

async function startCore(dataDir: string, tuning: Partial<CoreTuning> = {}): Promise<{ core: PanelCore; entries: LogEntry[] }> {
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

async function editHeadlines(prefix: string): Promise<void> {
  const { id: _id, ...body } = (await admin.get('content-sets/default-en').json()) as ContentSet;
  for (const level of Object.keys(body.byLevel)) body.byLevel[level] = { ...body.byLevel[level]!, headline: `${prefix} ${level}` };
  await admin.put('content-sets/default-en', { json: body });
}

function headline(core: PanelCore): string | null {
  const view = core.getView();
  return view.kind === 'content' ? view.document.content.headline : null;
}

function revision(core: PanelCore): number {
  const view = core.getView();
  return view.kind === 'content' ? view.document.revision : -1;
}

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  await new Promise((r) => server.close(r));
  return port;
}

const accepted = (entries: LogEntry[], source: 'mqtt' | 'http') =>
  entries.filter((e) => e.message === 'document accepted' && e.source === source).length;

describe('panel core over HTTPS + MQTTS with a private CA', () => {
  it('goes live over MQTTS, shows a change pushed over MQTTS, and gets the next one by polling over HTTPS while MQTT is away', async () => {
    const dataDir = await provision('tls-live');
    const { core, entries } = await startCore(dataDir);
    await waitFor('live', () => core.state.name === 'live', 10_000);
    await waitFor('mqtt up over TLS', () => entries.some((e) => e.message === 'mqtt up'), 10_000);
    expect(entries.find((e) => e.message === 'mqtt up')?.url).toBe(`mqtts://127.0.0.1:${mqtts.port}`);

    const before = revision(core);
    const mqttBefore = accepted(entries, 'mqtt');
    await editHeadlines('Pushed');
    await waitFor('the pushed change on screen', () => headline(core)?.startsWith('Pushed') && revision(core) > before, 5_000);
    expect(accepted(entries, 'mqtt')).toBeGreaterThan(mqttBefore);

    // The broker goes away behind its TLS front: the next change arrives by polling over HTTPS.
    mqtts.retarget(await closedPort());
    mqtts.dropConnections();
    await waitFor('mqtt down', () => entries.some((e) => e.message === 'mqtt reconnect scheduled'), 5_000);
    const httpBefore = accepted(entries, 'http');
    const pushed = revision(core);
    await editHeadlines('Polled-while-down');
    await waitFor('the change by poll over HTTPS', () => headline(core)?.startsWith('Polled-while-down') && revision(core) > pushed, 5_000);
    expect(accepted(entries, 'http')).toBeGreaterThan(httpBefore);
    mqtts.retarget(Number(new URL(backend.mqttUrl!).port));
    await waitFor('mqtt up again', () => entries.filter((e) => e.message === 'mqtt up').length >= 2, 5_000);
    expect(entries.filter((e) => e.message === 'certificate problem')).toEqual([]);
    expect(core.currentStatus().lastError).toBeNull();
  });

  it('polls over HTTPS when the panel has no MQTT, and after a change gets the new document by poll', async () => {
    const dataDir = await provision('tls-poll', { mqtt: false });
    const { core, entries } = await startCore(dataDir);
    await waitFor('live by poll', () => core.state.name === 'live', 10_000);
    const before = revision(core);
    await editHeadlines('Polled');
    await waitFor('the change by poll', () => headline(core)?.startsWith('Polled') && revision(core) > before, 5_000);
    expect(accepted(entries, 'http')).toBeGreaterThanOrEqual(2);
    expect(accepted(entries, 'mqtt')).toBe(0);
  });

  it('refuses an expired certificate, another CA and a wrong host name: TLS-2, TLS-1, TLS-3 in status and log, content kept, live again once fixed', async () => {
    const dataDir = await provision('tls-refused');
    const { core, entries } = await startCore(dataDir);
    await waitFor('live', () => core.state.name === 'live' && entries.some((e) => e.message === 'mqtt up'), 10_000);
    const shown = revision(core);
    expect(shown).toBeGreaterThan(0);

    const cases: [IssuedCertificate, string, RegExp][] = [
      [expired, 'TLS-2', /CERT_HAS_EXPIRED/],
      [stranger, 'TLS-1', /not signed by the CA this panel trusts/],
      [elsewhere, 'TLS-3', /ERR_TLS_CERT_ALTNAME_INVALID/],
    ];
    for (const [cert, code, reason] of cases) {
      for (const front of [https, mqtts]) {
        front.setCertificate(cert.certPem, cert.keyPem);
        front.dropConnections();
      }
      await waitFor(
        `${code} on both channels`,
        () => {
          const problems = entries.filter((e) => e.message === 'certificate problem' && e.code === code);
          return problems.some((e) => e.channel === 'mqtt') && problems.some((e) => e.channel === 'http');
        },
        10_000,
      );
      expect(core.currentStatus().lastError).toMatch(new RegExp(`^${code}: `));
      expect(core.currentStatus().lastError).toMatch(reason);
      // Never a blank screen: the last document stays, with the stale badge after the window.
      await waitFor(
        `stale with ${code}`,
        () => {
          const view = core.getView();
          return view.kind === 'content' && view.stale !== null && view.document.revision === shown;
        },
        5_000,
      );
      expect(core.state.name).toBe('stale');
    }

    for (const front of [https, mqtts]) front.setCertificate(good.certPem, good.keyPem);
    await waitFor('live again with the right certificate', () => core.state.name === 'live', 10_000);
    await waitFor('problems over', () => entries.filter((e) => e.message === 'certificate problem over').length >= 2, 5_000);
    expect(revision(core)).toBeGreaterThanOrEqual(shown);
  });

  it('a panel restarted while the certificate is wrong shows its cached content and names the problem', async () => {
    const dataDir = await provision('tls-restart');
    const first = await startCore(dataDir);
    await waitFor('live', () => first.core.state.name === 'live', 10_000);
    const shown = revision(first.core);
    await first.core.stop();
    for (const front of [https, mqtts]) {
      front.setCertificate(stranger.certPem, stranger.keyPem);
      // Node's HTTPS agent keeps connections alive: the first core's would still be trusted.
      front.dropConnections();
    }

    const { core, entries } = await startCore(dataDir);
    expect(core.state.name).toBe('showing-cached');
    expect(revision(core)).toBe(shown);
    await waitFor(
      'TLS-1 reported on both channels',
      () => entries.filter((e) => e.message === 'certificate problem' && e.code === 'TLS-1').length === 2,
      10_000,
    );
    expect(core.currentStatus().lastError).toMatch(/^TLS-1: /);
    await waitFor('stale after the window, same content', () => core.state.name === 'stale', 5_000);
    expect(revision(core)).toBe(shown);
  });

  it('mTLS: the broker and API front ask for a client certificate; accepted with the panel certificate, TLS-4 without', async () => {
    const client = await pki.issueClient('tls-mtls');
    const mtlsHttps = await TlsTerminator.start({
      targetPort: Number(new URL(backend.url).port),
      certPem: good.certPem,
      keyPem: good.keyPem,
      clientCaPem: pki.caPem,
    });
    const mtlsMqtts = await TlsTerminator.start({
      targetPort: Number(new URL(backend.mqttUrl!).port),
      certPem: good.certPem,
      keyPem: good.keyPem,
      clientCaPem: pki.caPem,
    });
    stops.push(async () => {
      await mtlsHttps.close();
      await mtlsMqtts.close();
    });
    const dataDir = await provision('tls-mtls');
    const withEndpoints = async (extra: Record<string, unknown>) => {
      const config = (await loadPanelConfig(dataDir)) as {
        ok: true;
        config: Record<string, unknown> & { endpoints: Record<string, unknown> };
      };
      await writePanelJson(dataDir, {
        ...config.config,
        endpoints: {
          ...config.config.endpoints,
          apiBaseUrl: `https://127.0.0.1:${mtlsHttps.port}/api/v1`,
          mqttUrl: `mqtts://127.0.0.1:${mtlsMqtts.port}`,
        },
        ...extra,
      });
    };
    await withEndpoints({ clientCertFile: null, clientKeyFile: null });
    const without = await startCore(dataDir);
    await waitFor(
      'TLS-4 without a client certificate',
      () => without.entries.some((e) => e.message === 'certificate problem' && e.code === 'TLS-4'),
      10_000,
    );
    expect(without.core.state.name).toBe('booting');
    await without.core.stop();

    await copyFile(client.certPath, join(dataDir, 'client.pem'));
    await copyFile(client.keyPath, join(dataDir, 'client.key'));
    await chmod(join(dataDir, 'client.key'), 0o600);
    await withEndpoints({ clientCertFile: 'client.pem', clientKeyFile: 'client.key' });
    const withCert = await startCore(dataDir);
    await waitFor(
      'live with the client certificate',
      () => withCert.core.state.name === 'live' && withCert.entries.some((e) => e.message === 'mqtt up'),
      10_000,
    );
    expect(mtlsMqtts.clientSubjects).toContain('tls-mtls');
    expect(mtlsHttps.clientSubjects).toContain('tls-mtls');
  });
});

describe("the backend's own HTTPS and MQTTS (createBackend tls, its private CA)", () => {
  it('registration hands the CA (and a client certificate for a CSR); panels written from it go live over MQTTS, with and without mTLS, and see a change', async () => {
    const own = await createBackend({
      dataDir: join(work, 'own-tls-backend'),
      port: 0,
      adminToken: ADMIN_TOKEN,
      logger: silentLogger,
      startLoops: false,
      mqtt: { mode: 'embedded', port: 0, host: '127.0.0.1' },
      tls: { caDir: join(work, 'own-tls-ca') },
    });
    stops.push(() => own.close());
    const caPem = own.tls?.caCertificateForPanels;
    if (!caPem) throw new Error('the backend has no CA for panels');
    const ownAdmin = got.extend({
      prefixUrl: `${own.url}/api/v1`,
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      https: { certificateAuthority: caPem },
      retry: { limit: 0 },
    });

    // As `provisioning register` + `inject` do: panel.json from the registration answer (CA inline).
    const plain = PanelRegistration.parse(await ownAdmin.post('panels', { json: { id: 'own-tls', name: 'Own TLS' } }).json());
    expect(plain.caCertificate).toBe(caPem);
    expect(plain.endpoints.apiBaseUrl).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/api\/v1$/);
    expect(plain.endpoints.mqttUrl).toMatch(/^mqtts:\/\/127\.0\.0\.1:\d+$/);
    const plainDir = join(work, 'own-tls');
    await writePanelJson(plainDir, panelConfigFromRegistration(plain));

    // With a key pair made on the technician's machine and a CSR: a client certificate, key 0600.
    const keys = await generateKeyPair();
    const mtls = PanelRegistration.parse(
      await ownAdmin
        .post('panels', {
          json: { id: 'own-mtls', name: 'Own mTLS', clientCertificateRequest: await createCertificateRequest(keys, 'own-mtls') },
        })
        .json(),
    );
    expect(mtls.clientCertificate).toMatch(/^-----BEGIN CERTIFICATE-----/);
    const mtlsDir = join(work, 'own-mtls');
    await writePanelJson(mtlsDir, { ...panelConfigFromRegistration(mtls), clientKeyFile: 'client.key' });
    await writeFile(join(mtlsDir, 'client.key'), await privateKeyToPem(keys.privateKey), { mode: 0o600 });

    const panels = [await startCore(plainDir), await startCore(mtlsDir)];
    for (const { core, entries } of panels) {
      await waitFor('live over MQTTS', () => core.state.name === 'live' && entries.some((e) => e.message === 'mqtt up'), 10_000);
      expect(entries.find((e) => e.message === 'transport')).toMatchObject({ trusts: 'private CA', caSource: 'panel.json (inline PEM)' });
    }
    expect(panels[1]!.entries.find((e) => e.message === 'transport')).toMatchObject({ clientCertificate: 'CN=own-mtls' });
    const before = panels.map(({ core }) => revision(core));
    const { id: _id, ...body } = (await ownAdmin.get('content-sets/default-en').json()) as ContentSet;
    for (const level of Object.keys(body.byLevel)) body.byLevel[level] = { ...body.byLevel[level]!, headline: `Own TLS ${level}` };
    await ownAdmin.put('content-sets/default-en', { json: body });
    for (const [i, { core, entries }] of panels.entries()) {
      await waitFor('the change over MQTTS', () => headline(core)?.startsWith('Own TLS') && revision(core) > before[i]!, 5_000);
      expect(entries.filter((e) => e.message === 'certificate problem')).toEqual([]);
    }
  });
});

describe('OTA over HTTPS with the same trust store', () => {
  it('the manifest and the bundle come through the HTTPS front (createOtaUpdater, as the hosts make it); another CA refuses the manifest with TLS-1', async () => {
    const dataDir = await provision('tls-ota', { mqtt: false });
    const key = generateReleaseKey();
    const keyFile = await writeKeyFile(join(work, 'release.key'), key);
    const keyring = join(work, 'release-keys.json');
    await writeKeyring(keyring, [key]);
    const bundle = await makeBundle(work, '2.0.0', 'export {};\n', 20_000);
    await releaseOps.publish(
      { server: backend.url, token: ADMIN_TOKEN },
      {
        bundleFile: bundle.file,
        channel: 'stable',
        version: '2.0.0',
        minRuntime: { electron: '45.0.0', node: '20.0.0' },
        rolloutShare: 1,
        keyFiles: [keyFile],
      },
    );
    const { logger, entries } = capturingLogger();
    const restarts: string[] = [];
    const made = createOtaUpdater({
      dataDir,
      config: await loadPanelConfig(dataDir),
      runtimeHost: 'node',
      runtimeVersion: process.versions.node,
      appVersion: '1.0.0',
      buildTimeMs: 0,
      requestRestart: async () => void restarts.push('restart'),
      log: logger,
      env: { AIRPANEL_RELEASE_KEYS: keyring, AIRPANEL_RELEASE_FLOOR: join(work, 'no-release-floor.json') },
    });
    if (!('updater' in made)) throw new Error(made.reason);
    const updater = made.updater;
    stops.push(async () => updater.stop());

    https.setCertificate(stranger.certPem, stranger.keyPem);
    https.dropConnections();
    await expect(updater.checkNow()).rejects.toThrow(/^manifest: TLS-1: /);
    expect(
      entries.some((e) => e.message === 'certificate problem' && e.code === 'TLS-1' && e.endpoint === `https://127.0.0.1:${https.port}`),
    ).toBe(true);
    expect(restarts).toEqual([]);

    https.setCertificate(good.certPem, good.keyPem);
    https.dropConnections();
    expect(await updater.checkNow()).toMatch(/2\.0\.0 installed/);
    expect(restarts).toEqual(['restart']);
  });
});

describe('panel.json refused at boot', () => {
  it('plain endpoints to a host other than loopback → the maintenance screen CFG-6, nothing dialled', async () => {
    const dataDir = join(work, 'plain-panel');
    await writePanelJson(dataDir, {
      schemaVersion: 1,
      panelId: 'plain-panel',
      apiKey: 'k'.repeat(40),
      name: 'Plain',
      endpoints: {
        apiBaseUrl: 'http://backend.example:8080/api/v1',
        mqttUrl: 'mqtt://backend.example:1883',
        topics: panelTopics('plain-panel'),
      },
    });
    const { core, entries } = await startCore(dataDir);
    expect(core.getView()).toEqual({ kind: 'maintenance', code: 'CFG-6' });
    expect(core.currentStatus()).toMatchObject({
      state: 'maintenance',
      maintenanceCode: 'CFG-6',
      lastError: expect.stringContaining('endpoints.apiBaseUrl http://backend.example:8080'),
    });
    expect(entries.some((e) => e.message === 'mqtt up' || e.message === 'poll failed')).toBe(false);
  });

  it('a CA file that cannot be read → CFG-7, never a connection without it', async () => {
    const dataDir = await provision('tls-no-ca');
    await rm(join(dataDir, 'ca.pem'));
    const { core, entries } = await startCore(dataDir);
    expect(core.getView()).toEqual({ kind: 'maintenance', code: 'CFG-7' });
    expect(core.currentStatus().lastError).toMatch(/^CFG-7: caFile .*ca\.pem cannot be read: ENOENT/);
    await new Promise((r) => setTimeout(r, 300));
    expect(entries.some((e) => e.message === 'mqtt up' || e.message === 'document accepted')).toBe(false);
  });
});
