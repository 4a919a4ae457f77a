import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import got from 'got';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { capturingLogger } from '../testing/fixtures.js';
import { certificateProblemOf } from './certificate-problems.js';
import { PanelTransport } from './panel-transport.js';
import { isLoopbackHost, plainEndpointsOffLoopback } from './plain-endpoints.js';
import { createTestPki, type IssuedCertificate, type TestPki } from './testing/test-pki.js';
import { TlsTerminator } from './testing/tls-terminator.js';
import { loadTrustStore, TrustStore } from './trust-store.js';

const none = { caFile: null, mqttCaFile: null, clientCertFile: null, clientKeyFile: null };

describe('loadTrustStore', () => {
  let dir = '';
  let pki: TestPki;
  let client: IssuedCertificate;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'airpanel-trust-'));
    pki = await createTestPki(join(dir, 'pki'));
    client = await pki.issueClient('panel-001');
    await writeFile(join(dir, 'ca.pem'), pki.caPem);
    await writeFile(join(dir, 'client.pem'), client.certPem);
    await writeFile(join(dir, 'client.key'), client.keyPem, { mode: 0o600 });
  }, 30_000);
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('without trust fields: the system roots, no client certificate', async () => {
    const r = await loadTrustStore(none, dir);
    expect(r).toEqual({ ok: true, trust: TrustStore.systemRoots });
    if (r.ok) expect(r.trust.tlsOptions()).toEqual({ minVersion: 'TLSv1.2' });
  });

  it('reads the CA beside panel.json (relative path), the older mqttCaFile name, or inline PEM', async () => {
    for (const fields of [
      { ...none, caFile: 'ca.pem' },
      { ...none, mqttCaFile: join(dir, 'ca.pem') },
      { ...none, caFile: pki.caPem },
    ]) {
      const r = await loadTrustStore(fields, dir);
      expect(r.ok).toBe(true);
      if (!r.ok) continue;
      expect(r.trust.tlsOptions()).toEqual({ minVersion: 'TLSv1.2', ca: pki.caPem });
      expect(r.trust.gotHttpsOptions()).toEqual({ minVersion: 'TLSv1.2', certificateAuthority: pki.caPem });
      expect(r.trust.describe()).toMatchObject({ trusts: 'private CA', caSubject: 'CN=Airpanel Test CA' });
    }
  });

  it('a CA file that cannot be read is a refusal naming the field, never a connection without it', async () => {
    const r = await loadTrustStore({ ...none, caFile: 'missing.pem' }, dir);
    expect(r).toMatchObject({ ok: false, field: 'caFile', detail: expect.stringContaining('ENOENT') });
    const old = await loadTrustStore({ ...none, mqttCaFile: '/nonexistent/broker-ca.pem' }, dir);
    expect(old).toMatchObject({ ok: false, field: 'mqttCaFile' });
  });

  it('refuses a CA file holding no certificate, or a certificate that is not a CA', async () => {
    await writeFile(join(dir, 'junk.pem'), 'not a certificate');
    expect(await loadTrustStore({ ...none, caFile: 'junk.pem' }, dir)).toMatchObject({
      ok: false,
      field: 'caFile',
      detail: expect.stringContaining('no PEM certificate'),
    });
    expect(await loadTrustStore({ ...none, caFile: 'client.pem' }, dir)).toMatchObject({
      ok: false,
      field: 'caFile',
      detail: expect.stringContaining('not a CA'),
    });
  });

  it('a client certificate with its 0600 key; refused when one is missing, the key is readable by others, or does not match', async () => {
    const ok = await loadTrustStore({ ...none, caFile: 'ca.pem', clientCertFile: 'client.pem', clientKeyFile: 'client.key' }, dir);
    expect(ok.ok).toBe(true);
    if (ok.ok) {
      expect(ok.trust.tlsOptions()).toEqual({ minVersion: 'TLSv1.2', ca: pki.caPem, cert: client.certPem, key: client.keyPem });
      expect(ok.trust.describe()).toMatchObject({ clientCertificate: 'CN=panel-001' });
    }
    expect(await loadTrustStore({ ...none, clientCertFile: 'client.pem' }, dir)).toMatchObject({ ok: false, field: 'clientKeyFile' });
    await writeFile(join(dir, 'open.key'), client.keyPem);
    await chmod(join(dir, 'open.key'), 0o644);
    expect(await loadTrustStore({ ...none, clientCertFile: 'client.pem', clientKeyFile: 'open.key' }, dir)).toMatchObject({
      ok: false,
      field: 'clientKeyFile',
      detail: expect.stringContaining('mode 644'),
    });
    const other = await pki.issueClient('panel-002');
    await writeFile(join(dir, 'other.key'), other.keyPem, { mode: 0o600 });
    expect(await loadTrustStore({ ...none, clientCertFile: 'client.pem', clientKeyFile: 'other.key' }, dir)).toMatchObject({
      ok: false,
      field: 'clientKeyFile',
      detail: expect.stringContaining('not the key'),
    });
  });
});

describe('plain endpoints', () => {
  it('loopback names and addresses', () => {
    for (const h of ['localhost', 'api.localhost', '127.0.0.1', '127.8.9.10', '[::1]', '::1']) expect(isLoopbackHost(h), h).toBe(true);
    for (const h of ['10.0.2.100', 'backend.example', '128.0.0.1', 'localhost.example', '[::2]']) expect(isLoopbackHost(h), h).toBe(false);
  });

  it('names the plain endpoints off loopback, origin only', () => {
    expect(plainEndpointsOffLoopback({ apiBaseUrl: 'http://backend.example:8080/api/v1', mqttUrl: 'mqtt://10.0.0.5:1883' })).toEqual([
      { field: 'endpoints.apiBaseUrl', url: 'http://backend.example:8080' },
      { field: 'endpoints.mqttUrl', url: 'mqtt://10.0.0.5:1883' },
    ]);
    expect(plainEndpointsOffLoopback({ apiBaseUrl: 'https://backend.example/api/v1', mqttUrl: 'ws://backend.example/mqtt' })).toEqual([
      { field: 'endpoints.mqttUrl', url: 'ws://backend.example' },
    ]);
    expect(plainEndpointsOffLoopback({ apiBaseUrl: 'https://b.example/api/v1', mqttUrl: 'mqtts://b.example:8883' })).toEqual([]);
    expect(plainEndpointsOffLoopback({ apiBaseUrl: 'http://127.0.0.1:8080', mqttUrl: 'mqtt://localhost:1883' })).toEqual([]);
  });
});

describe('PanelTransport over real TLS on 127.0.0.1', () => {
  let dir = '';
  let pki: TestPki;
  let otherPki: TestPki;
  let plain: Server;
  const fronts: TlsTerminator[] = [];
  const front = async (cert: IssuedCertificate, clientCaPem?: string) => {
    const t = await TlsTerminator.start({
      targetPort: (plain.address() as AddressInfo).port,
      certPem: cert.certPem,
      keyPem: cert.keyPem,
      ...(clientCaPem ? { clientCaPem } : {}),
    });
    fronts.push(t);
    return t;
  };
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'airpanel-transport-'));
    pki = await createTestPki(join(dir, 'ca'));
    otherPki = await createTestPki(join(dir, 'other'), 'Somebody Else CA');
    plain = createServer((_req, res) => res.end('hello'));
    await new Promise<void>((r) => plain.listen(0, '127.0.0.1', r));
  }, 30_000);
  afterAll(async () => {
    for (const f of fronts) await f.close();
    await new Promise((r) => plain.close(r));
    await rm(dir, { recursive: true, force: true });
  });

  const transportWith = (trust: TrustStore) => {
    const { logger, entries } = capturingLogger();
    const reported: string[] = [];
    const transport = new PanelTransport({ trust, logger, onCertificateProblem: (_p, summary) => reported.push(summary) });
    return { transport, http: transport.http(got.extend({ retry: { limit: 0 }, timeout: { request: 5_000 } })), entries, reported };
  };
  const privateCa = () => new TrustStore({ caPem: pki.caPem, caSource: 'test', clientCertPem: null, clientKeyPem: null });

  it('trusts a server certificate from its CA', async () => {
    const t = await front(await pki.issueServer('good'));
    const { http, reported } = transportWith(privateCa());
    expect(await http.get(`https://127.0.0.1:${t.port}/`).text()).toBe('hello');
    expect(reported).toEqual([]);
  });

  it('TLS-1 for a certificate of another CA, also with the system roots; reported once, over at the next success', async () => {
    const t = await front(await otherPki.issueServer('stranger'));
    const { transport, http, reported, entries } = transportWith(privateCa());
    const url = `https://127.0.0.1:${t.port}/`;
    await expect(http.get(url)).rejects.toThrow(/^TLS-1: /);
    await expect(http.get(url)).rejects.toThrow(/^TLS-1: /);
    expect(reported).toEqual([
      `TLS-1: the server's certificate is not signed by the CA this panel trusts (UNABLE_TO_VERIFY_LEAF_SIGNATURE, https://127.0.0.1:${t.port})`,
    ]);
    expect(entries.filter((e) => e.message === 'certificate problem')).toHaveLength(1);
    expect(transport.problems()).toEqual({ http: reported[0] });
    t.setCertificate(...(await pki.issueServer('now-good').then((c) => [c.certPem, c.keyPem] as const)));
    expect(await http.get(url).text()).toBe('hello');
    expect(transport.problems()).toEqual({});
    expect(entries.some((e) => e.message === 'certificate problem over')).toBe(true);
    const roots = transportWith(TrustStore.systemRoots);
    t.setCertificate(...(await otherPki.issueServer('stranger-2').then((c) => [c.certPem, c.keyPem] as const)));
    await expect(roots.http.get(url)).rejects.toThrow(/^TLS-1: /);
  });

  it('TLS-2 for an expired and for a not-yet-valid server certificate', async () => {
    const day = 86_400_000;
    const expired = await front(
      await pki.issueServer('expired', { notBefore: new Date(Date.now() - 30 * day), notAfter: new Date(Date.now() - day) }),
    );
    const early = await front(
      await pki.issueServer('early', { notBefore: new Date(Date.now() + day), notAfter: new Date(Date.now() + 30 * day) }),
    );
    const { http, reported } = transportWith(privateCa());
    await expect(http.get(`https://127.0.0.1:${expired.port}/`)).rejects.toThrow(/^TLS-2: .*expired/);
    await expect(http.get(`https://127.0.0.1:${early.port}/`)).rejects.toThrow(/^TLS-2: /);
    expect(reported.map((r) => r.slice(0, 5))).toEqual(['TLS-2', 'TLS-2']);
    expect(reported[1]).toContain('CERT_NOT_YET_VALID');
  });

  it('TLS-3 for a certificate that names another host', async () => {
    const t = await front(await pki.issueServer('elsewhere', { hosts: ['backend.example', '10.9.9.9'] }));
    const { http, reported } = transportWith(privateCa());
    await expect(http.get(`https://127.0.0.1:${t.port}/`)).rejects.toThrow(/^TLS-3: /);
    await expect(http.get(`https://localhost:${t.port}/`)).rejects.toThrow(/^TLS-3: /);
    expect(reported[0]).toContain('ERR_TLS_CERT_ALTNAME_INVALID');
  });

  it('mTLS: accepted with the panel certificate; TLS-4 without one; refused with one of another CA', async () => {
    const t = await front(await pki.issueServer('mtls'), pki.caPem);
    const mine = await pki.issueClient('panel-001');
    const foreign = await otherPki.issueClient('panel-001');
    const withCert = transportWith(
      new TrustStore({ caPem: pki.caPem, caSource: 'test', clientCertPem: mine.certPem, clientKeyPem: mine.keyPem }),
    );
    expect(await withCert.http.get(`https://127.0.0.1:${t.port}/`).text()).toBe('hello');
    expect(t.clientSubjects).toContain('panel-001');
    const without = transportWith(privateCa());
    await expect(without.http.get(`https://127.0.0.1:${t.port}/`)).rejects.toThrow(/^TLS-4: /);
    const wrong = transportWith(
      new TrustStore({ caPem: pki.caPem, caSource: 'test', clientCertPem: foreign.certPem, clientKeyPem: foreign.keyPem }),
    );
    // A Node TLS server checks the certificate after the handshake and closes the socket with
    // no alert: the panel sees a reset it cannot name (README, "Certificate problems").
    await expect(wrong.http.get(`https://127.0.0.1:${t.port}/`)).rejects.toThrow();
  });

  it('other connection errors are not certificate problems', async () => {
    const { http, reported } = transportWith(privateCa());
    const err = await http.get('https://127.0.0.1:9/').catch((e: unknown) => e);
    expect(certificateProblemOf(err)).toBeNull();
    expect(reported).toEqual([]);
  });
});
