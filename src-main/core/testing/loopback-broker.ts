// Test support only (never imported by production code): a real MQTT broker (aedes) on
// 127.0.0.1 without authentication, which the core tests can kill and bring back on the same
// port, keeping its retained messages and sessions as a restarted broker with persistence would.
import { createServer, type Server, type Socket } from 'node:net';
import { Aedes } from 'aedes';

export interface ReceivedPublish {
  topic: string;
  payload: string;
  retain: boolean;
  clientId: string | null;
}

export class LoopbackBroker {
  readonly received: ReceivedPublish[] = [];
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  private port = 0;

  /** Topics whose SUBSCRIBE is negated (SUBACK 0x80), as an ACL refusing them would. */
  readonly negatedTopics = new Set<string>();

  private constructor(private readonly aedes: Aedes) {
    aedes.authorizeSubscribe = (_client, subscription, done) =>
      done(null, this.negatedTopics.has(subscription.topic) ? null : subscription);
    aedes.on('publish', (packet, client) => {
      if (packet.topic.startsWith('$SYS')) return;
      this.received.push({ topic: packet.topic, payload: packet.payload.toString(), retain: packet.retain, clientId: client?.id ?? null });
    });
  }

  static async start(): Promise<LoopbackBroker> {
    const broker = new LoopbackBroker(await Aedes.createBroker());
    await broker.listen();
    return broker;
  }

  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  get connectedClients(): number {
    return this.aedes.connectedClients;
  }

  /** Publishes as the backend would: QoS 1, retained or not. */
  publish(topic: string, payload: string | Buffer, retain: boolean): Promise<void> {
    return new Promise((resolve, reject) => {
      this.aedes.publish(
        { cmd: 'publish', topic, payload: typeof payload === 'string' ? Buffer.from(payload) : payload, qos: 1, retain, dup: false },
        (err) => (err ? reject(err) : resolve()),
      );
    });
  }

  /** Like a crashed broker: listening stops and every connection is cut. */
  async kill(): Promise<void> {
    const server = this.server;
    this.server = null;
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Cuts every connection (no DISCONNECT: the broker fires last wills) but keeps listening. */
  dropClients(): void {
    for (const socket of this.sockets) socket.destroy();
  }

  /** Listens again on the same port. */
  async revive(): Promise<void> {
    await this.listen();
  }

  async close(): Promise<void> {
    await this.kill();
    await new Promise<void>((resolve) => this.aedes.close(() => resolve()));
  }

  private listen(): Promise<void> {
    const server = createServer((socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      this.aedes.handle(socket);
    });
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => {
        const address = server.address();
        if (address && typeof address === 'object') this.port = address.port;
        resolve();
      });
    });
  }
}
