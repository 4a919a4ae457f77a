// The panel core over HTTPS + MQTTS with a private CA, against the real backend (createBackend:
// fastify, SQLite, the embedded aedes broker) behind TLS fronts on 127.0.0.1 that terminate TLS
// as a reverse proxy would, with certificates of a test CA made by openssl. Live, a change →
// the new document, polling over HTTPS while MQTT is away; a wrong CA, an expired certificate and
// a wrong host name → refused, named TLS-n in the status and the log, cached content kept (stale
// after the window); plain endpoints or an unreadable CA in panel.json → the maintenance screen's
// CFG-6 / CFG-7 without ever connecting. Then the backend's own HTTPS and MQTTS (createBackend
import { chmod, copyFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { panelTopics } from '@airpanel/contract';
import { loadPanelConfig } from '@airpanel/panel/core/config';
import { waitFor, writePanelJson } from '@airpanel/panel/core/testing/fixtures';
import { type IssuedCertificate } from '@airpanel/panel/core/transport/testing/test-pki';
import { TlsTerminator } from '@airpanel/panel/core/transport/testing/tls-terminator';
import {
  accepted,
  backend,
  closedPort,
  editHeadlines,
  elsewhere,
  expired,
  good,
  headline,
  https,
  mqtts,
  pki,
  provision,
  revision,
  startCore,
  stops,
  stranger,
  work,
} from './tls-panel.test-support.js';
import { API_PREFIX } from '@airpanel/contract/api';

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
          apiBaseUrl: `https://127.0.0.1:${mtlsHttps.port}${API_PREFIX}`,
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

describe('panel.json refused at boot', () => {
  it('plain endpoints to a host other than loopback → the maintenance screen CFG-6, nothing dialled', async () => {
    const dataDir = join(work, 'plain-panel');
    await writePanelJson(dataDir, {
      schemaVersion: 1,
      panelId: 'plain-panel',
      apiKey: 'k'.repeat(40),
      name: 'Plain',
      endpoints: {
        apiBaseUrl: `http://backend.example:8080${API_PREFIX}`,
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
