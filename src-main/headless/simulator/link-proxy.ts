import { connect, createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

/**
 * A TCP relay between a simulated panel and one backend port (HTTP or MQTT) that the
 * simulator can cut: `cut()` resets every open connection and every new one, as a lost
 * network does; `restore()` relays again. The panel's panel.json points at the relay, so
 * the fault is real to the panel (sockets break) without touching the backend.
 */
export class LinkProxy {
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  private isCut = false;

  constructor(private readonly target: { host: string; port: number }) {}

  get up(): boolean {
    return !this.isCut;
  }

  /** Listens on 127.0.0.1 (port 0 = any free port); returns the port. */
  async listen(port = 0): Promise<number> {
    const server = createServer((client) => this.onClient(client));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.server = server;
    return (server.address() as AddressInfo).port;
  }

  get port(): number {
    if (!this.server) throw new Error('link proxy: not listening');
    return (this.server.address() as AddressInfo).port;
  }

  cut(): void {
    this.isCut = true;
    for (const s of this.sockets) s.resetAndDestroy();
    this.sockets.clear();
  }

  restore(): void {
    this.isCut = false;
  }

  async close(): Promise<void> {
    this.cut();
    const server = this.server;
    this.server = null;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private onClient(client: Socket): void {
    if (this.isCut) {
      client.on('error', () => undefined);
      client.resetAndDestroy();
      return;
    }
    const upstream = connect(this.target.port, this.target.host);
    this.sockets.add(client);
    this.sockets.add(upstream);
    const drop = () => {
      this.sockets.delete(client);
      this.sockets.delete(upstream);
    };
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.resetAndDestroy());
    client.on('close', () => { upstream.destroy(); drop(); });
    upstream.on('close', () => { client.destroy(); drop(); });
    client.pipe(upstream);
    upstream.pipe(client);
  }
}
