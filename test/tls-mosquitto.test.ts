// A real Mosquitto with the TLS listener the mosquitto-config generator writes, using the
// backend's private CA: MQTTS, mTLS with the certificate's CN as identity, CRL revocation.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type IClientOptions, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { panelTopics } from '@airpanel/contract';
import { silentLogger } from '@airpanel/backend/logger';
import { startMosquitto, type RunningMosquitto } from '@airpanel/backend/mqtt/test-support/mosquitto-process';
import { grantedQos } from '@airpanel/backend/mqtt/test-support/mqtt-test-kit';
import { CA_FILES, PrivateCa } from '@airpanel/backend/tls/private-ca';
import { createCertificateRequest, generateKeyPair, privateKeyToPem } from '@airpanel/backend/tls/x509';

interface PanelIdentity {
  cert: string;
  key: string;
}

let dir: string;
let ca: PrivateCa;
let broker: RunningMosquitto;
const clients: MqttClient[] = [];
const panels: Record<string, PanelIdentity> = {};

async function issue(panelId: string): Promise<PanelIdentity> {
  const keys = await generateKeyPair();
  const signed = await ca.signPanelCertificate(panelId, await createCertificateRequest(keys, panelId));
  return { cert: signed.certificatePem, key: await privateKeyToPem(keys.privateKey) };
}

/** Connects and answers the client once connected, or the error that ended the attempt. */
function dial(options: IClientOptions): Promise<MqttClient | Error> {
  return new Promise((resolve) => {
    const client = connect(broker.tlsUrl!, { reconnectPeriod: 0, connectTimeout: 5_000, protocolVersion: 4, ...options });
    clients.push(client);
    client.once('connect', () => resolve(client));
    client.once('error', (error) => resolve(error));
    client.once('close', () => resolve(new Error('closed before CONNACK')));
  });
}

async function subscribeGranted(client: MqttClient, topic: string): Promise<number> {
  return (await grantedQos(client, [topic]))[0]!;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airpanel-tls-mosquitto-'));
  ca = await PrivateCa.open({ dir, serverNames: ['127.0.0.1'], clock: { now: () => Date.now() }, logger: silentLogger });
  broker = await startMosquitto({
    tls: {
      certFile: join(dir, CA_FILES.serverCert),
      keyFile: join(dir, CA_FILES.serverKey),
      caFile: join(dir, CA_FILES.caCert),
      crlFile: join(dir, CA_FILES.crl),
      requireCertificate: true,
    },
  });
  // Panel accounts as the backend creates them through dynsec (their roles give each its own topics).
  await broker.seedPanelAccounts([
    { panelId: 'pnl-a', apiKey: KEYS['pnl-a']! },
    { panelId: 'pnl-b', apiKey: KEYS['pnl-b']! },
  ]);
  panels['pnl-a'] = await issue('pnl-a');
  panels['pnl-b'] = await issue('pnl-b');
});

afterAll(async () => {
  for (const client of clients) client.end(true);
  await broker?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const KEYS: Record<string, string> = { 'pnl-a': 'a'.repeat(43), 'pnl-b': 'b'.repeat(43) };
/** A panel's connection: the CA, its certificate and key, its id and API key. */
const as = (panelId: string, certificateOf = panelId): IClientOptions => ({
  ca: ca.caCertificatePem,
  ...panels[certificateOf],
  clientId: panelId,
  username: panelId,
  password: KEYS[panelId],
});

describe('Mosquitto TLS listener from the generated config', () => {
  it("writes the listener with the CA directory's files, TLS 1.2 minimum, client certificates required and the CRL", async () => {
    const conf = await readFile(broker.deployment.confPath, 'utf8');
    expect(conf).toContain(`certfile ${join(dir, CA_FILES.serverCert)}\n`);
    expect(conf).toContain('tls_version tlsv1.2\n');
    expect(conf).toContain('require_certificate true\nuse_identity_as_username true\nuse_username_as_clientid true\n');
    expect(conf).toContain(`crlfile ${join(dir, CA_FILES.crl)}\n`);
  });

  it('accepts a panel with its certificate, id and key over MQTTS verified against the private CA, on its own topics only', async () => {
    const a = await dial(as('pnl-a'));
    expect(a).not.toBeInstanceOf(Error);
    expect(await subscribeGranted(a as MqttClient, panelTopics('pnl-a').display)).toBe(1);
    expect(await subscribeGranted(a as MqttClient, panelTopics('pnl-b').display)).toBe(128);
    expect(await subscribeGranted(a as MqttClient, '#')).toBe(128);
  });

  it('refuses a panel without a client certificate even with its key, and a client that does not trust the CA refuses the broker', async () => {
    const bare = await dial({ ca: ca.caCertificatePem, clientId: 'pnl-a', username: 'pnl-a', password: KEYS['pnl-a'] });
    expect(bare).toBeInstanceOf(Error);
    const untrusting = await dial({ ...as('pnl-a'), ca: undefined });
    expect(untrusting).toBeInstanceOf(Error);
    expect(String((untrusting as Error).message)).toMatch(/self[- ]signed|unable to get|certificate/i);
  });

  it("panel A's certificate cannot act as B: the identity is the certificate's, whatever username, key or client id it sends", async () => {
    const b = (await dial(as('pnl-b'))) as MqttClient;
    expect(b).not.toBeInstanceOf(Error);
    let bClosed = false;
    b.once('close', () => (bClosed = true));
    const impostor = await dial({ ...as('pnl-b', 'pnl-a') });
    expect(impostor).not.toBeInstanceOf(Error);
    // It is A: B's topics are refused, A's granted, and B's session was not taken over.
    expect(await grantedQos(impostor as MqttClient, [panelTopics('pnl-b').display, panelTopics('pnl-b').commands, '#'])).toEqual([
      128, 128, 128,
    ]);
    expect(await subscribeGranted(impostor as MqttClient, panelTopics('pnl-a').display)).toBe(1);
    expect(bClosed).toBe(false);
    expect(await subscribeGranted(b, panelTopics('pnl-b').display)).toBe(1);
  });

  it('refuses a revoked certificate once Mosquitto reloaded the CRL, and keeps accepting the others', async () => {
    await ca.revokePanel('pnl-a');
    await broker.restart();
    const revoked = await dial(as('pnl-a'));
    expect(revoked).toBeInstanceOf(Error);
    const other = await dial(as('pnl-b'));
    expect(other).not.toBeInstanceOf(Error);
  });
});
