import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodeDisplayDocument } from '../documents/draft.js';
import type { PanelCredentialVerifier } from './gateway.js';
import { Aedes, type AedesPublishPacket } from 'aedes';
import { completingOffStack, createEmbeddedGateway } from './embedded-gateway.js';
import { describeGatewayContract } from './test-support/gateway-contract-suite.js';
import {
  RecordingLogger,
  RecordingSink,
  connectPanel,
  endAll,
  grantedQos,
  panelTopics,
  sampleDisplayDocument,
  sampleStatus,
} from './test-support/mqtt-test-kit.js';

/** Stands in for the backend's key store (hashed keys in SQLite) in these gateway tests. */
class FakeKeyStore implements PanelCredentialVerifier {
  readonly keys = new Map<string, string>();
  verifyPanelKey(panelId: string, apiKey: string): boolean {
    return this.keys.get(panelId) === apiKey;
  }
}

async function startEmbedded(verifier: PanelCredentialVerifier = new FakeKeyStore()) {
  const sink = new RecordingSink();
  const logger = new RecordingLogger();
  const gateway = createEmbeddedGateway({ host: '127.0.0.1', port: 0, verifier, sink, logger });
  await gateway.start();
  return { gateway, sink, logger };
}

describeGatewayContract('embedded aedes', async () => {
  const keyStore = new FakeKeyStore();
  const { gateway, sink, logger } = await startEmbedded(keyStore);
  return {
    gateway,
    sink,
    logger,
    async addPanel(panelId, key) {
      keyStore.keys.set(panelId, key);
      await gateway.registerPanelCredentials(panelId, key);
    },
    async removePanel(panelId) {
      keyStore.keys.delete(panelId);
      await gateway.removePanelCredentials(panelId);
    },
    close: () => gateway.close(),
  };
});

describe('embedded aedes gateway', () => {
  it('listens on the port it was given 0 for, and closes twice without complaint', async () => {
    const { gateway } = await startEmbedded();
    expect(gateway.panelUrl).toMatch(/^mqtt:\/\/127\.0\.0\.1:\d+$/);
    expect(gateway.panelUrl).not.toMatch(/:0$/);
    await gateway.close();
    await gateway.close();
    await expect(gateway.publishDisplay(encodeDisplayDocument(sampleDisplayDocument('panel-a', 1)))).rejects.toThrow(/not running/);
  });

  it('counts connected panels, not connections that failed to authenticate', async () => {
    const keyStore = new FakeKeyStore();
    keyStore.keys.set('panel-a', 'ka').set('panel-b', 'kb');
    const { gateway } = await startEmbedded(keyStore);
    const clients = [];
    try {
      expect(gateway.connectedPanelCount()).toBe(0);
      const a = await connectPanel(gateway.panelUrl, 'panel-a', 'ka');
      clients.push(a.client);
      clients.push((await connectPanel(gateway.panelUrl, 'panel-b', 'kb')).client);
      await connectPanel(gateway.panelUrl, 'panel-c', 'nope').catch(() => undefined);
      await expect.poll(() => gateway.connectedPanelCount(), { timeout: 2_000 }).toBe(2);
      await a.client.endAsync();
      await expect.poll(() => gateway.connectedPanelCount(), { timeout: 2_000 }).toBe(1);
    } finally {
      await endAll(clients);
      await gateway.close();
    }
  });

  it('drops a panel still connected with its old key when the key changes', async () => {
    const keyStore = new FakeKeyStore();
    keyStore.keys.set('panel-a', 'old-key');
    const { gateway } = await startEmbedded(keyStore);
    const a = await connectPanel(gateway.panelUrl, 'panel-a', 'old-key');
    try {
      const closed = new Promise<void>((resolve) => a.client.once('close', () => resolve()));
      keyStore.keys.set('panel-a', 'new-key');
      await gateway.registerPanelCredentials('panel-a', 'new-key');
      await closed;
      const again = await connectPanel(gateway.panelUrl, 'panel-a', 'new-key');
      await again.client.endAsync();
    } finally {
      await endAll([a.client]);
      await gateway.close();
    }
  });

  it('keeps running when the sink throws or the verifier fails', async () => {
    const sink = new RecordingSink();
    const throwingSink = {
      onStatus: () => {
        throw new Error('database is locked');
      },
      onEvent: sink.onEvent.bind(sink),
    };
    const logger = new RecordingLogger();
    const verifier = {
      verifyPanelKey: (panelId: string) => {
        if (panelId === 'panel-x') throw new Error('key store unavailable');
        return true;
      },
    };
    const gateway = createEmbeddedGateway({ host: '127.0.0.1', port: 0, verifier, sink: throwingSink, logger });
    await gateway.start();
    const clients = [];
    try {
      const refused = await connectPanel(gateway.panelUrl, 'panel-x', 'k').then(
        () => 'accepted',
        (e: { code?: number }) => e.code,
      );
      expect(refused).toBe(3);
      const a = await connectPanel(gateway.panelUrl, 'panel-a', 'k');
      clients.push(a.client);
      await a.client.publishAsync(panelTopics('panel-a').status, JSON.stringify(sampleStatus('panel-a')), { qos: 1 });
      await expect.poll(() => logger.has('error', 'failed to record'), { timeout: 2_000 }).toBe(true);
      expect(a.client.connected).toBe(true);
    } finally {
      await endAll(clients);
      await gateway.close();
    }
  });
});

describe('embedded aedes gateway, oversized packets', () => {
  it('drops a connection whose packet announces more than a panel ever sends, before buffering it', async () => {
    const { gateway, logger } = await startEmbedded();
    const { port } = new URL(gateway.panelUrl);
    const socket = createConnection({ host: '127.0.0.1', port: Number(port) });
    try {
      await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
      const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
      // A CONNECT announcing 100 MB: no authentication has happened yet.
      socket.write(Buffer.from([0x10, 0x80, 0x80, 0x80, 0x30, 0x00, 0x04]));
      await closed;
      expect(logger.has('warn', 'packet too large')).toBe(true);
    } finally {
      socket.destroy();
      await gateway.close();
    }
  });
});

describe('embedded aedes gateway, closing', () => {
  it('closes at once even with a connection that never sent CONNECT', async () => {
    const { gateway } = await startEmbedded();
    const socket = createConnection({ host: '127.0.0.1', port: Number(new URL(gateway.panelUrl).port) });
    try {
      await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
      const outcome = await Promise.race([
        gateway.close().then(() => 'closed'),
        new Promise((resolve) => setTimeout(() => resolve('still closing after 3 s'), 3_000).unref()),
      ]);
      expect(outcome).toBe('closed');
    } finally {
      socket.destroy();
      await gateway.close();
    }
  });

  it('tells panels a dialable address when listening on all interfaces', async () => {
    const logger = new RecordingLogger();
    const gateway = createEmbeddedGateway({ host: '0.0.0.0', port: 0, verifier: new FakeKeyStore(), sink: new RecordingSink(), logger });
    await gateway.start();
    try {
      expect(gateway.panelUrl).toMatch(/^mqtt:\/\/127\.0\.0\.1:\d+$/);
      expect(logger.has('warn', 'without a public URL')).toBe(true);
    } finally {
      await gateway.close();
    }
  });
});

describe('embedded aedes gateway, start failures', () => {
  it('says which address is taken and leaves nothing running', async () => {
    const first = await startEmbedded();
    const port = Number(new URL(first.gateway.panelUrl).port);
    const second = createEmbeddedGateway({
      host: '127.0.0.1',
      port,
      verifier: new FakeKeyStore(),
      sink: new RecordingSink(),
      logger: new RecordingLogger(),
    });
    try {
      await expect(second.start()).rejects.toThrow(new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port}: .*EADDRINUSE`));
      await expect(second.publishDisplay(encodeDisplayDocument(sampleDisplayDocument('panel-a', 1)))).rejects.toThrow(/not running/);
    } finally {
      await second.close();
      await first.gateway.close();
    }
  });
});

describe('embedded aedes gateway over TLS', () => {
  it('serves mqtts:// to a panel that trusts the certificate, and nothing in plain text', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'airpanel-mqtt-tls-'));
    const keyStore = new FakeKeyStore();
    keyStore.keys.set('panel-a', 'key-a');
    let gateway: ReturnType<typeof createEmbeddedGateway> | undefined;
    const clients = [];
    try {
      // A throwaway self-signed certificate for 127.0.0.1, made by the system's openssl.
      execFileSync(
        'openssl',
        [
          'req',
          '-x509',
          '-newkey',
          'ec',
          '-pkeyopt',
          'ec_paramgen_curve:prime256v1',
          '-nodes',
          '-days',
          '1',
          '-subj',
          '/CN=127.0.0.1',
          '-addext',
          'subjectAltName=IP:127.0.0.1',
          '-keyout',
          join(dir, 'key.pem'),
          '-out',
          join(dir, 'cert.pem'),
        ],
        { stdio: 'ignore' },
      );
      const cert = await readFile(join(dir, 'cert.pem'));
      gateway = createEmbeddedGateway({
        host: '127.0.0.1',
        port: 0,
        tls: { options: { cert, key: await readFile(join(dir, 'key.pem')) } },
        verifier: keyStore,
        sink: new RecordingSink(),
        logger: new RecordingLogger(),
      });
      await gateway.start();
      expect(gateway.panelUrl).toMatch(/^mqtts:\/\/127\.0\.0\.1:\d+$/);

      const a = await connectPanel(gateway.panelUrl, 'panel-a', 'key-a', { ca: cert });
      clients.push(a.client);
      expect(await grantedQos(a.client, [panelTopics('panel-a').display])).toEqual([1]);
      await expect(connectPanel(gateway.panelUrl, 'panel-a', 'key-a')).rejects.toThrow(/self[- ]signed/i);
      await expect(
        connectPanel(gateway.panelUrl.replace('mqtts:', 'mqtt:'), 'panel-a', 'key-a', { connectTimeout: 1_000 }),
      ).rejects.toThrow();
    } finally {
      await endAll(clients);
      await gateway?.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('the backend subscriber inside aedes', () => {
  // mqemitter runs the next queued message inside the previous one's callback: 20,000 queued
  // messages whose subscriber calls back synchronously overflow the stack (measured: the
  // 10,000-panel benchmark ended the backend this way). Here the queue is built on purpose:
  // a blocking subscriber holds every concurrency slot while the messages pile up.
  async function deliverQueuedBurst(subscriber: (packet: AedesPublishPacket, done: () => void) => void, count: number) {
    const broker = await Aedes.createBroker({ concurrency: 10 });
    try {
      const held: (() => void)[] = [];
      await new Promise<void>((resolve) => broker.subscribe('hold', (_packet, done) => void held.push(done), resolve));
      await new Promise<void>((resolve) => broker.subscribe('airpanel/+/status', subscriber, resolve));
      const packet = (topic: string) =>
        ({ cmd: 'publish', topic, payload: Buffer.from('{}'), qos: 0, retain: false, dup: false }) as AedesPublishPacket;
      for (let i = 0; i < 10; i++) broker.publish(packet('hold'), () => undefined);
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(held).toHaveLength(10);
      for (let i = 0; i < count; i++) broker.publish(packet(`airpanel/panel-${i}/status`), () => undefined);
      for (const release of held) release();
    } finally {
      await new Promise<void>((resolve) => broker.close(() => resolve()));
    }
  }

  it('takes a burst of queued panel messages without growing the stack', async () => {
    let delivered = 0;
    await deliverQueuedBurst(
      completingOffStack(() => delivered++),
      20_000,
    );
    await new Promise((resolve) => setImmediate(resolve));
    expect(delivered).toBe(20_000);
  });

  it('(the same burst with a synchronous callback overflows: the reason for completingOffStack)', async () => {
    const synchronous = (_packet: AedesPublishPacket, done: () => void) => done();
    await expect(deliverQueuedBurst(synchronous, 20_000)).rejects.toThrow(/call stack/);
  });
});
