// The backend with --tls-ca-dir on 127.0.0.1: HTTPS with HSTS and TLS 1.2 minimum, MQTTS on
// the embedded broker, the CA and client certificates in the registration answer, mTLS on
// both with the API key as second factor, revocation by key rotation and deletion.
import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { request } from 'node:https';
import { connect as tlsConnect } from 'node:tls';
import { connect, type IClientOptions, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PanelRegistration, panelTopics } from '@airpanel/contract';
import type { Backend } from '@airpanel/backend/backend';
import { apiPath } from '@airpanel/contract/api';
import { grantedQos } from '@airpanel/backend/mqtt/test-support/mqtt-test-kit';
import { makeTempDir } from '@airpanel/backend/test-support';
import { CA_FILES } from '@airpanel/backend/tls/private-ca';
import { createCertificateRequest, generateKeyPair, privateKeyToPem } from '@airpanel/backend/tls/x509';
import { Cleanups, startBackend } from './harness/index.js';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

const temp = makeTempDir('airpanel-tls-backend-');
const logLines: string[] = [];
const logger = {
  debug: () => undefined,
  info: (message: string) => void logLines.push(message),
  warn: (message: string) => void logLines.push(message),
  error: (message: string) => void logLines.push(message),
};
let backend: Backend;
const cleanups = new Cleanups();
let caPem: string;
const clients: MqttClient[] = [];

/** A panel as the technician makes it: a key pair here, a CSR to the backend. */
async function registerWithCertificate(id: string): Promise<{ reg: PanelRegistration; cert: string; key: string }> {
  const keys = await generateKeyPair();
  const answer = await call('POST', apiPath('/panels'), {
    token: backend.adminToken,
    body: { id, name: id, clientCertificateRequest: await createCertificateRequest(keys, id) },
  });
  expect(answer.status).toBe(201);
  const reg = PanelRegistration.parse(JSON.parse(answer.body));
  return { reg, cert: reg.clientCertificate!, key: await privateKeyToPem(keys.privateKey) };
}

function call(
  method: string,
  path: string,
  options: { token?: string; body?: unknown; cert?: string; key?: string } = {},
): Promise<Answer> {
  const url = new URL(path, backend.url);
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method,
        ca: caPem,
        ...(options.cert ? { cert: options.cert, key: options.key } : {}),
        headers: {
          ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
          ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        // A fresh connection per call: the certificate presented is this call's.
        agent: false,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.once('error', reject);
    req.end(options.body !== undefined ? JSON.stringify(options.body) : undefined);
  });
}

function dialMqtt(options: IClientOptions): Promise<MqttClient | Error> {
  return new Promise((resolve) => {
    const client = connect(backend.mqttUrl!, { reconnectPeriod: 0, connectTimeout: 5_000, protocolVersion: 4, ca: caPem, ...options });
    clients.push(client);
    client.once('connect', () => resolve(client));
    client.once('error', (error) => resolve(error));
    client.once('close', () => resolve(new Error('closed before CONNACK')));
  });
}

beforeAll(async () => {
  const started = await startBackend({
    mode: 'in-process',
    cleanups,
    dataDir: temp.dir,
    mqtt: { mode: 'embedded', port: 0 },
    adminToken: null,
    backend: { tls: { caDir: `${temp.dir}/ca` }, logger, startLoops: false, releaseFeed: false },
  });
  backend = started.backend;
  caPem = await readFile(`${temp.dir}/ca/${CA_FILES.caCert}`, 'utf8');
});

afterAll(async () => {
  for (const client of clients) client.end(true);
  await cleanups.run();
  temp.remove();
});

describe('backend over TLS with a private CA', () => {
  it('serves the API over HTTPS with HSTS, names the certificate and its expiry in the log, and hands panels mqtts://', async () => {
    expect(backend.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(backend.mqttUrl).toMatch(/^mqtts:\/\/127\.0\.0\.1:\d+$/);
    const health = await call('GET', '/healthz');
    expect(health.status).toBe(200);
    expect(health.headers['strict-transport-security']).toBe('max-age=31536000');
    const line = logLines.find((l) => l.startsWith('tls: TLS 1.2+ with a certificate for'));
    expect(line).toMatch(/127\.0\.0\.1.*localhost.*expires \d{4}-\d\d-\d\dT/);
  });

  it('refuses TLS 1.1 on the API and on the broker', async () => {
    const port = (url: string) => Number(new URL(url.replace(/^mqtts/, 'https')).port);
    for (const target of [port(backend.url), port(backend.mqttUrl!)]) {
      const outcome = await new Promise<string>((resolve) => {
        // The client allows TLS 1.1 (security level 0); the server must not.
        const socket = tlsConnect({
          host: '127.0.0.1',
          port: target,
          ca: caPem,
          minVersion: 'TLSv1',
          maxVersion: 'TLSv1.1',
          ciphers: 'DEFAULT@SECLEVEL=0',
        });
        socket.once('secureConnect', () => {
          socket.destroy();
          resolve('connected');
        });
        socket.once('error', (error: Error) => resolve(error.message));
      });
      // The server's alert, not a client-side refusal: the client offered TLS 1.1.
      expect(outcome).toMatch(/alert protocol version/i);
    }
  });

  it('puts the CA into every registration, and signs a client certificate (CN = panel id, clientAuth) from a CSR', async () => {
    const plain = await call('POST', apiPath('/panels'), { token: backend.adminToken, body: { id: 'pnl-plain', name: 'No certificate' } });
    expect(plain.status).toBe(201);
    const plainReg = PanelRegistration.parse(JSON.parse(plain.body));
    expect(plainReg.caCertificate).toBe(caPem);
    expect(plainReg.clientCertificate).toBeNull();
    expect(plainReg.endpoints.apiBaseUrl).toMatch(/^https:/);

    const { cert } = await registerWithCertificate('pnl-cert');
    const parsed = new X509Certificate(cert);
    expect(parsed.subject).toBe('CN=pnl-cert');
    expect(parsed.keyUsage).toEqual(['1.3.6.1.5.5.7.3.2']);
    expect(parsed.checkIssued(new X509Certificate(caPem))).toBe(true);

    const bad = await call('POST', apiPath('/panels'), {
      token: backend.adminToken,
      body: {
        id: 'pnl-bad',
        name: 'Bad',
        clientCertificateRequest: '-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n',
      },
    });
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.body).error.code).toBe('invalid-certificate-request');
    expect((await call('GET', apiPath('/panels/pnl-bad'), { token: backend.adminToken })).status).toBe(404);
  });

  it("API: a panel with a certificate must present it with its key; another panel's certificate does not do", async () => {
    const a = await registerWithCertificate('pnl-api-a');
    const b = await registerWithCertificate('pnl-api-b');
    const display = (token: string, tls: { cert?: string; key?: string }) =>
      call('GET', apiPath('/panels/pnl-api-a/display'), { token, ...tls });
    expect((await display(a.reg.apiKey, a)).status).toBe(200);
    const withoutCert = await display(a.reg.apiKey, {});
    expect(withoutCert.status).toBe(401);
    expect(JSON.parse(withoutCert.body).error.message).toMatch(/must present it/);
    const othersCert = await display(a.reg.apiKey, b);
    expect(othersCert.status).toBe(401);
    expect(JSON.parse(othersCert.body).error.message).toMatch(/belongs to "pnl-api-b"/);
    // B's certificate with B's key still cannot read A's resources.
    expect((await display(b.reg.apiKey, b)).status).toBe(403);
    // A panel without a certificate keeps working with its key alone; the admin needs none.
    const plain = PanelRegistration.parse(
      JSON.parse((await call('POST', apiPath('/panels'), { token: backend.adminToken, body: { id: 'pnl-api-plain', name: 'P' } })).body),
    );
    expect((await call('GET', apiPath('/panels/pnl-api-plain/display'), { token: plain.apiKey })).status).toBe(200);
    expect((await display(backend.adminToken, {})).status).toBe(200);
  });

  it("embedded broker over MQTTS: A with its certificate and key on its own topics; A's certificate cannot connect as B; no certificate, no entry", async () => {
    const a = await registerWithCertificate('pnl-mq-a');
    const b = await registerWithCertificate('pnl-mq-b');
    const asA = await dialMqtt({ clientId: 'pnl-mq-a', username: 'pnl-mq-a', password: a.reg.apiKey, cert: a.cert, key: a.key });
    expect(asA).not.toBeInstanceOf(Error);
    expect(await grantedQos(asA as MqttClient, [panelTopics('pnl-mq-a').display, panelTopics('pnl-mq-b').display])).toEqual([1, 128]);
    // A's certificate with B's id and key: refused.
    const impostor = await dialMqtt({ clientId: 'pnl-mq-b', username: 'pnl-mq-b', password: b.reg.apiKey, cert: a.cert, key: a.key });
    expect(impostor).toBeInstanceOf(Error);
    const bare = await dialMqtt({ clientId: 'pnl-mq-a', username: 'pnl-mq-a', password: a.reg.apiKey });
    expect(bare).toBeInstanceOf(Error);
    const untrusting = await dialMqtt({
      clientId: 'pnl-mq-a',
      username: 'pnl-mq-a',
      password: a.reg.apiKey,
      cert: a.cert,
      key: a.key,
      ca: undefined,
    });
    expect(untrusting).toBeInstanceOf(Error);
  });

  it('rotating a key or deleting a panel makes its certificate useless on the API and the broker', async () => {
    const a = await registerWithCertificate('pnl-rev-a');
    expect((await call('GET', apiPath('/panels/pnl-rev-a/display'), { token: a.reg.apiKey, ...a })).status).toBe(200);
    const rotated = await call('POST', apiPath('/panels/pnl-rev-a/api-key'), { token: backend.adminToken });
    expect(rotated.status).toBe(200);
    const newKey = (JSON.parse(rotated.body) as { apiKey: string }).apiKey;
    const api = await call('GET', apiPath('/panels/pnl-rev-a/display'), { token: newKey, ...a });
    expect(api.status).toBe(401);
    expect(JSON.parse(api.body).error.message).toMatch(/revoked/);
    expect(await dialMqtt({ clientId: 'pnl-rev-a', username: 'pnl-rev-a', password: newKey, cert: a.cert, key: a.key })).toBeInstanceOf(
      Error,
    );

    // A new certificate for the same panel (POST …/client-certificate) works with the new key.
    const keys = await generateKeyPair();
    const issued = await call('POST', apiPath('/panels/pnl-rev-a/client-certificate'), {
      token: backend.adminToken,
      body: { clientCertificateRequest: await createCertificateRequest(keys, 'x') },
    });
    expect(issued.status).toBe(200);
    const fresh = JSON.parse(issued.body) as { panelId: string; clientCertificate: string; caCertificate: string };
    expect(fresh.caCertificate).toBe(caPem);
    expect(new X509Certificate(fresh.clientCertificate).subject).toBe('CN=pnl-rev-a');
    expect(
      (
        await call('GET', apiPath('/panels/pnl-rev-a/display'), {
          token: newKey,
          cert: fresh.clientCertificate,
          key: await privateKeyToPem(keys.privateKey),
        })
      ).status,
    ).toBe(200);
    expect(
      (
        await call('POST', apiPath('/panels/pnl-none/client-certificate'), {
          token: backend.adminToken,
          body: { clientCertificateRequest: await createCertificateRequest(keys, 'x') },
        })
      ).status,
    ).toBe(404);

    const c = await registerWithCertificate('pnl-rev-c');
    const serial = new X509Certificate(c.cert).serialNumber;
    expect(backend.tls!.ca!.isCurrentPanelCertificate('pnl-rev-c', serial)).toBe(true);
    expect((await call('DELETE', apiPath('/panels/pnl-rev-c'), { token: backend.adminToken })).status).toBe(204);
    expect(backend.tls!.ca!.isCurrentPanelCertificate('pnl-rev-c', serial)).toBe(false);
    const crl = await readFile(`${temp.dir}/ca/${CA_FILES.crl}`, 'utf8');
    expect(crl).toMatch(/BEGIN X509 CRL/);
  });
});

describe('server certificate renewal while running', () => {
  it('renews with the same CA before expiry, and new HTTPS and MQTTS connections get the new certificate', async () => {
    const dir = makeTempDir('airpanel-tls-renewal-');
    // The backend starts 61 days in the past (its certificates must still verify against the
    // real clock), then its clock comes back to now: 29 days left, under the 30-day margin.
    let now = Date.now() - 61 * 86_400_000;
    const renewalCleanups = new Cleanups();
    const { backend: running } = await startBackend({
      mode: 'in-process',
      cleanups: renewalCleanups,
      dataDir: dir.dir,
      mqtt: { mode: 'embedded', port: 0 },
      adminToken: null,
      backend: { tls: { caDir: `${dir.dir}/ca` }, clock: { now: () => now }, logger, startLoops: false, releaseFeed: false },
    });
    try {
      const ca = await readFile(`${dir.dir}/ca/${CA_FILES.caCert}`, 'utf8');
      const served = (url: string) =>
        new Promise<{ serial: string; validTo: string }>((resolve, reject) => {
          const { hostname, port } = new URL(url.replace(/^mqtts/, 'https'));
          const socket = tlsConnect({ host: hostname, port: Number(port), ca }, () => {
            const cert = socket.getPeerCertificate();
            socket.destroy();
            resolve({ serial: cert.serialNumber, validTo: cert.valid_to });
          });
          socket.once('error', reject);
        });
      const before = [await served(running.url), await served(running.mqttUrl!)];
      expect(before[0]!.serial).toBe(before[1]!.serial);
      expect(await running.tls!.renewIfDue()).toBe(false);

      now = Date.now();
      expect(await running.tls!.renewIfDue()).toBe(true);
      const after = [await served(running.url), await served(running.mqttUrl!)];
      for (const cert of after) {
        expect(cert.serial).not.toBe(before[0]!.serial);
        expect(Date.parse(cert.validTo)).toBeGreaterThan(Date.parse(before[0]!.validTo));
      }
      // Same CA: the CA file did not change and verification above used it.
      expect(await readFile(`${dir.dir}/ca/${CA_FILES.caCert}`, 'utf8')).toBe(ca);
    } finally {
      await renewalCleanups.run();
      dir.remove();
    }
  });
});
