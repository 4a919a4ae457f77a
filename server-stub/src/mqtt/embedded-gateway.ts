import type { Logger } from '@airpanel/node-support/logger';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, type Server as TlsServer, type TLSSocket, type TlsOptions } from 'node:tls';
import { Aedes, type AedesPublishPacket, type AuthenticateError, type Client } from 'aedes';
import type { MqttGateway, PanelCredentialVerifier, PanelMessageSink } from './gateway.js';
import {
  BACKEND_SUBSCRIPTIONS,
  PANEL_MESSAGE_MAX_BYTES,
  deliverPanelMessage,
  isPanelId,
  panelMayPublish,
  panelMaySubscribe,
} from './panel-messages.js';
import { panelPublishing } from './outgoing.js';
import { limitPacketSize } from './packet-size-limit.js';
import { createTopicIndexedPersistence } from './retained-index.js';

/** The largest packet a panel has reason to send: a status or event plus topic and header. */
const MAX_INBOUND_PACKET_BYTES = PANEL_MESSAGE_MAX_BYTES + 1024;

export interface EmbeddedGatewayOptions {
  /** Interface to listen on, e.g. 127.0.0.1 (tests) or 0.0.0.0 (a deployment). */
  host: string;
  /** TCP port; 0 picks a free one, and `panelUrl` then names the real port. */
  port: number;
  /** URL handed to panels when `host` is not what they should dial (e.g. 0.0.0.0 behind NAT). */
  publicUrl?: string;
  /**
   * Serve MQTT over TLS (mqtts://) with this certificate and key (PEM). Panel keys travel as
   * MQTT passwords: anywhere beyond a closed network, set this. `checkPanel` adds the client
   * certificate rule (tls/panel-certificates.ts) once a panel's key was verified; `attach`
   * hands the TLS server over for certificate renewal.
   */
  tls?: {
    options: TlsOptions;
    checkPanel?: (panelId: string, socket: unknown) => { ok: true } | { ok: false; reason: string };
    attach?: (server: TlsServer) => void;
  };
  verifier: PanelCredentialVerifier;
  sink: PanelMessageSink;
  logger: Logger;
}

// CONNACK return codes of MQTT 3.1.1; aedes declares them as a const enum, which
// `isolatedModules` cannot read, hence the numbers.
const IDENTIFIER_REJECTED = 2;
const SERVER_UNAVAILABLE = 3;
const BAD_USERNAME_OR_PASSWORD = 4;

function refusal(message: string, returnCode: number): AuthenticateError {
  return Object.assign(new Error(message), { returnCode }) as AuthenticateError;
}

/**
 * An in-process aedes subscriber that signals completion in a microtask, not on the caller's
 * stack. Aedes' emitter (mqemitter) starts the next queued message from inside the callback
 * of the previous one, so a subscriber that calls back synchronously makes the stack grow
 * with the queue: 10,000 panels reporting at once overflowed it and ended the backend.
 */
export function completingOffStack(deliver: (packet: AedesPublishPacket) => void): (packet: AedesPublishPacket, done: () => void) => void {
  return (packet, done) => {
    try {
      deliver(packet);
    } finally {
      queueMicrotask(done);
    }
  };
}

/**
 * The default broker: aedes inside the backend process. Panels authenticate with their id
 * and key and reach only their own topics; the backend publishes and listens in-process,
 * bypassing the hooks, so it needs no credentials of its own.
 *
 * Aedes keeps retained messages and persistent sessions in memory: after a restart the
 * backend must publish every panel's current document again (createBackend does, at start).
 */
export function createEmbeddedGateway(options: EmbeddedGatewayOptions): MqttGateway {
  const { verifier, sink, logger } = options;
  const panelIdOf = new WeakMap<Client, string>();
  const connectedPanels = new Map<string, Client>();
  // Every client that proved a panel's key, from CONNECT on: `connectedPanels` learns of a
  // client only when its session is ready, a little after the panel got its CONNACK, and a
  // key change in between must still reach it.
  const authenticatedClients = new Map<string, Set<Client>>();
  let broker: Aedes | undefined;
  let server: Server | undefined;
  // aedes.close() closes only clients that completed CONNECT; a socket still silent would
  // keep server.close() waiting until aedes' connect timeout. close() destroys them all.
  const sockets = new Set<Socket>();
  let url: string | undefined;
  let closing: Promise<void> | undefined;

  const deliverToBackend = completingOffStack((packet) => {
    deliverPanelMessage(sink, logger, packet.topic, packet.payload as Buffer);
  });

  function requireBroker(): Aedes {
    if (!broker || closing) throw new Error('the embedded MQTT broker is not running (call start() first, and not after close())');
    return broker;
  }

  function publish(topic: string, payload: Buffer, retain: boolean): Promise<void> {
    const running = requireBroker();
    return new Promise((resolve, reject) => {
      running.publish({ cmd: 'publish', topic, payload, qos: 1, retain, dup: false }, (error) =>
        error ? reject(new Error(`publishing on ${topic} failed: ${error.message}`)) : resolve(),
      );
    });
  }

  async function start(): Promise<void> {
    if (broker) throw new Error('the embedded MQTT gateway was already started');
    // A panel that stops reading (dead link, frozen process) holds up delivery to everyone
    // and the backend's shutdown until aedes gives up on it; 10 s instead of aedes' 60 s.
    // A connection that sends no CONNECT is dropped after 10 s instead of 30 s.
    // Retained documents indexed by topic: see retained-index.ts (O(1) per panel SUBSCRIBE).
    const aedes = await Aedes.createBroker({
      drainTimeout: 10_000,
      connectTimeout: 10_000,
      persistence: createTopicIndexedPersistence() as never,
    });
    broker = aedes;

    aedes.authenticate = (client, username, password, done) => {
      if (!isPanelId(username) || password === undefined) {
        done(refusal('a panel connects with its id as username and its key as password', BAD_USERNAME_OR_PASSWORD), false);
        return;
      }
      // The client id must be the panel id: persistent sessions are keyed by client id, so
      // this keeps one panel from taking over (or kicking off) another's session.
      if (client.id !== username) {
        logger.warn('mqtt: panel refused, client id differs from panel id', { panelId: username, clientId: client.id });
        done(refusal(`client id must equal the panel id ${username}`, IDENTIFIER_REJECTED), false);
        return;
      }
      let valid: boolean;
      try {
        valid = verifier.verifyPanelKey(username, password.toString('utf8'));
      } catch (error) {
        logger.error('mqtt: verifying a panel key failed', { panelId: username, error: (error as Error).message });
        done(refusal('credentials cannot be checked right now', SERVER_UNAVAILABLE), false);
        return;
      }
      if (!valid) {
        logger.warn('mqtt: panel refused, wrong id or key', { panelId: username });
        done(refusal('wrong panel id or key', BAD_USERNAME_OR_PASSWORD), false);
        return;
      }
      const certificate = options.tls?.checkPanel?.(username, client.conn);
      if (certificate && !certificate.ok) {
        logger.warn('mqtt: panel refused, client certificate', { panelId: username, reason: certificate.reason });
        done(refusal(certificate.reason, BAD_USERNAME_OR_PASSWORD), false);
        return;
      }
      panelIdOf.set(client, username);
      const clients = authenticatedClients.get(username) ?? new Set<Client>();
      for (const earlier of clients) if (earlier.closed) clients.delete(earlier);
      authenticatedClients.set(username, clients.add(client));
      done(null, true);
    };

    aedes.authorizePublish = (client, packet, done) => {
      // client is null only for a will aedes republishes on behalf of a vanished client
      // (cluster case); allow it on a status topic only, where the backend validates it.
      const panelId = client ? panelIdOf.get(client) : undefined;
      const allowed = client === null ? /\/status$/.test(packet.topic) : panelId !== undefined && panelMayPublish(panelId, packet.topic);
      if (!allowed) {
        logger.warn('mqtt: publish refused', { panelId, topic: packet.topic });
        done(new Error(`panel ${panelId ?? '(none)'} may not publish on ${packet.topic}`));
        return;
      }
      if (packet.payload.length > PANEL_MESSAGE_MAX_BYTES) {
        logger.warn('mqtt: oversized publish refused', { panelId, topic: packet.topic, bytes: packet.payload.length });
        done(new Error(`message of ${packet.payload.length} bytes exceeds ${PANEL_MESSAGE_MAX_BYTES}`));
        return;
      }
      done(null);
    };

    aedes.authorizeSubscribe = (client, subscription, done) => {
      const panelId = panelIdOf.get(client);
      if (panelId !== undefined && panelMaySubscribe(panelId, subscription.topic)) {
        done(null, subscription);
        return;
      }
      // Negated, not an error: the SUBACK says 0x80 and the connection stays up.
      logger.warn('mqtt: subscription negated', { panelId, topic: subscription.topic });
      done(null, null);
    };

    aedes.on('clientReady', (client) => {
      const panelId = panelIdOf.get(client);
      if (panelId !== undefined) connectedPanels.set(panelId, client);
    });
    aedes.on('clientDisconnect', (client) => {
      const panelId = panelIdOf.get(client);
      // A reconnect may already have replaced this client: remove only our own entry.
      if (panelId === undefined) return;
      if (connectedPanels.get(panelId) === client) connectedPanels.delete(panelId);
      authenticatedClients.get(panelId)?.delete(client);
    });
    aedes.on('clientError', (client, error) => {
      logger.debug('mqtt: client error', { clientId: client.id, error: error.message });
    });

    for (const topic of BACKEND_SUBSCRIPTIONS) {
      await new Promise<void>((resolve) => aedes.subscribe(topic, deliverToBackend, resolve));
    }

    const serve = (socket: Socket | TLSSocket): void => {
      aedes.handle(socket);
      limitPacketSize(socket, MAX_INBOUND_PACKET_BYTES, (reason) => {
        logger.warn('mqtt: connection dropped, packet too large', { remoteAddress: socket.remoteAddress, reason });
      });
    };
    // noDelay: a PUBACK followed by a document would otherwise wait on Nagle and the panel's
    // delayed ACK (~40 ms); the same setting as set_tcp_nodelay in the generated Mosquitto config.
    const tlsServer = options.tls
      ? createTlsServer({ minVersion: 'TLSv1.2', ...options.tls.options, handshakeTimeout: 10_000, noDelay: true }, serve)
      : null;
    if (tlsServer) options.tls?.attach?.(tlsServer);
    const netServer: Server = tlsServer ?? createServer({ noDelay: true }, serve);
    // Raw TCP sockets, also those of TLS connections still shaking hands.
    netServer.on('connection', (socket: Socket) => {
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
    });
    server = netServer;
    await new Promise<void>((resolve, reject) => {
      netServer.once('error', reject);
      netServer.listen(options.port, options.host, () => {
        netServer.off('error', reject);
        resolve();
      });
    }).catch(async (error: Error) => {
      await new Promise<void>((resolve) => aedes.close(() => resolve()));
      broker = undefined;
      server = undefined;
      throw new Error(`the embedded MQTT broker cannot listen on ${options.host}:${options.port}: ${error.message}`);
    });
    const { port } = netServer.address() as AddressInfo;
    const wildcard = options.host === '0.0.0.0' || options.host === '::';
    if (wildcard && !options.publicUrl) {
      logger.warn('mqtt: listening on all interfaces without a public URL; panels are told 127.0.0.1', { host: options.host, port });
    }
    const dialHost = wildcard ? '127.0.0.1' : options.host.includes(':') ? `[${options.host}]` : options.host;
    url = options.publicUrl ?? `${options.tls ? 'mqtts' : 'mqtt'}://${dialHost}:${port}`;
    logger.info('mqtt: embedded broker listening', { url });
  }

  function close(): Promise<void> {
    closing ??= (async () => {
      const aedes = broker;
      const netServer = server;
      if (aedes) await new Promise<void>((resolve) => aedes.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      if (netServer?.listening) await new Promise<void>((resolve) => netServer.close(() => resolve()));
      connectedPanels.clear();
      authenticatedClients.clear();
    })();
    return closing;
  }

  async function disconnectPanel(panelId: string): Promise<void> {
    const clients = [...(authenticatedClients.get(panelId) ?? [])];
    authenticatedClients.delete(panelId);
    connectedPanels.delete(panelId);
    await Promise.all(clients.map((client) => new Promise<void>((resolve) => client.close(() => resolve()))));
  }

  return {
    start,
    close,
    get panelUrl(): string {
      if (url === undefined) throw new Error('the embedded MQTT broker has no URL before start()');
      return url;
    },
    ...panelPublishing(publish),
    async registerPanelCredentials(panelId: string): Promise<void> {
      // The verifier reads the backend's store, so there is nothing to copy. A panel still
      // connected with an old key is dropped: it must prove the new one.
      await disconnectPanel(panelId);
    },
    async removePanelCredentials(panelId: string): Promise<void> {
      await disconnectPanel(panelId);
    },
    connectedPanelCount(): number {
      return connectedPanels.size;
    },
  };
}
