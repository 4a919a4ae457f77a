// Test support only: a loopback TCP relay whose link can be degraded on command. Panels dial it
// (panel.json points at it) for MQTT and for HTTP, so every fault is real to them: sockets
// reset, bytes arrive late, or a connection stays open while nothing gets through.
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';

/**
 * - `pass`: relay both ways.
 * - `delay`: relay every chunk `ms` later (order kept), both ways.
 * - `blackhole`: accept, keep the connection open, forward nothing (a half-open link: the
 *   peer's packets vanish, no FIN, no RST). Connections that were blackholed stay dead after
 *   the mode changes (bytes were lost: the stream cannot resume); new ones get the new mode.
 * - `reset`: reset every open connection and every new one (a cut link, a rebooted router).
 */
export type ProxyMode = { kind: 'pass' } | { kind: 'delay'; ms: number } | { kind: 'blackhole' } | { kind: 'reset' };

interface Pair {
  client: Socket;
  upstream: Socket | null;
  /** Blackholed once: never forwards again. */
  dead: boolean;
}

export class FaultProxy {
  private server: Server | null = null;
  private readonly pairs = new Set<Pair>();
  private current: ProxyMode = { kind: 'pass' };
  /** Connections accepted so far (a test can see that a client redialled). */
  accepted = 0;

  constructor(private readonly target: { host: string; port: number }) {}

  /** Listens on 127.0.0.1 (0 = any free port). */
  async listen(port = 0): Promise<number> {
    const server = createServer((client) => this.onClient(client));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.server = server;
    return this.port;
  }

  get port(): number {
    if (!this.server) throw new Error('fault proxy: not listening');
    return (this.server.address() as AddressInfo).port;
  }

  get mode(): ProxyMode {
    return this.current;
  }

  /** Open client connections (relayed or held). */
  get openConnections(): number {
    return this.pairs.size;
  }

  setMode(mode: ProxyMode): void {
    this.current = mode;
    if (mode.kind === 'reset') {
      for (const pair of [...this.pairs]) this.resetPair(pair);
    } else if (mode.kind === 'blackhole') {
      for (const pair of this.pairs) pair.dead = true;
    }
  }

  async close(): Promise<void> {
    for (const pair of [...this.pairs]) this.resetPair(pair);
    const server = this.server;
    this.server = null;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private resetPair(pair: Pair): void {
    this.pairs.delete(pair);
    pair.client.resetAndDestroy();
    pair.upstream?.destroy();
  }

  private onClient(client: Socket): void {
    this.accepted += 1;
    client.on('error', () => undefined);
    const mode = this.current;
    if (mode.kind === 'reset') {
      client.resetAndDestroy();
      return;
    }
    const pair: Pair = { client, upstream: null, dead: mode.kind === 'blackhole' };
    this.pairs.add(pair);
    client.on('close', () => {
      pair.upstream?.destroy();
      this.pairs.delete(pair);
    });
    if (pair.dead) {
      client.resume(); // swallow whatever the client sends
      return;
    }
    const upstream = connect(this.target.port, this.target.host);
    pair.upstream = upstream;
    upstream.on('error', () => client.resetAndDestroy());
    upstream.on('close', () => {
      if (!pair.dead) client.destroy();
      this.pairs.delete(pair);
    });
    this.relay(pair, client, upstream);
    this.relay(pair, upstream, client);
  }

  /** Forwards `from` → `to` according to the mode at the time each chunk arrives. */
  private relay(pair: Pair, from: Socket, to: Socket): void {
    let chain = Promise.resolve();
    from.on('data', (chunk: Buffer) => {
      if (pair.dead) return;
      const mode = this.current;
      if (mode.kind === 'delay') {
        // Latency, not a throttle: each chunk leaves `ms` after it arrived, in order.
        const due = Date.now() + mode.ms;
        chain = chain.then(() => new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, due - Date.now())))).then(() => {
          if (!pair.dead && !to.destroyed) to.write(chunk);
        });
      } else {
        chain = chain.then(() => {
          if (!pair.dead && !to.destroyed) to.write(chunk);
        });
      }
    });
    from.on('end', () => {
      void chain.then(() => {
        if (!pair.dead) to.end();
      });
    });
  }
}
