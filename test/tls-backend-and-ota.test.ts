// The backend's own HTTPS and MQTTS (createBackend tls with its private CA): panel.json written
// from the registration answer, as provisioning does, with and without a client certificate.
// And OTA through the HTTPS front of a test CA (certificates made by openssl).
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import got from 'got';
import { describe, expect, it } from 'vitest';
import { type ContentSet, panelConfigFromRegistration, PanelRegistration } from '@airpanel/contract';
import { loadPanelConfig } from '@airpanel/panel/core/config';
import { createOtaUpdater } from '@airpanel/panel/core/kiosk/ota';
import { capturingLogger, waitFor, writePanelJson } from '@airpanel/panel/core/testing/fixtures';
import { Cleanups, startBackend } from './harness/index.js';
import { silentLogger } from '@airpanel/backend/logger';
import { createCertificateRequest, generateKeyPair, privateKeyToPem } from '@airpanel/backend/tls/x509';
import * as releaseOps from '@airpanel/release-tools/ops';
import { generateReleaseKey, makeBundle, writeKeyFile, writeKeyring } from './harness/ota/feed.js';
import {
  ADMIN_TOKEN,
  backend,
  good,
  headline,
  https,
  provision,
  revision,
  startCore,
  stops,
  stranger,
  work,
} from './tls-panel.test-support.js';
import { API_PREFIX } from '@airpanel/contract/api';

describe("the backend's own HTTPS and MQTTS (createBackend tls, its private CA)", () => {
  it('registration hands the CA (and a client certificate for a CSR); panels written from it go live over MQTTS, with and without mTLS, and see a change', async () => {
    const ownCleanups = new Cleanups();
    stops.push(() => ownCleanups.run());
    const own = (
      await startBackend({
        mode: 'in-process',
        cleanups: ownCleanups,
        dataDir: join(work, 'own-tls-backend'),
        adminToken: ADMIN_TOKEN,
        backend: { logger: silentLogger, startLoops: false, tls: { caDir: join(work, 'own-tls-ca') } },
      })
    ).backend;
    const caPem = own.tls?.caCertificateForPanels;
    if (!caPem) throw new Error('the backend has no CA for panels');
    const ownAdmin = got.extend({
      prefixUrl: `${own.url}${API_PREFIX}`,
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
