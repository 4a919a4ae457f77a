import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';

/**
 * How the relay treats the link (the simulator uses `pass` and `reset` through cut/restore;
 * the fault tests use them all):
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

/**
 * A loopback TCP relay between a panel and one backend port (HTTP or MQTT) whose link can be
 * cut or degraded on command. The panel's panel.json points at the relay, so every fault is
 * real to the panel (sockets reset, bytes arrive late, or a connection stays open while
 * nothing gets through) without touching the backend. Used by the browser simulator ("cut the
 * network": `cut()` / `restore()`) and by the fault-injection tests (`setMode`).
 */
export class LinkProxy {
  private server: Server | null = null;
  private readonly pairs = new Set<Pair>();
  private current: ProxyMode = { kind: 'pass' };
  /** Connections accepted so far (a test can see that a client redialled). */
  accepted = 0;

  constructor(private readonly target: { host: string; port: number }) {}

  /** Listens on 127.0.0.1 (port 0 = any free port); returns the port. */
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
    if (!this.server) throw new Error('link proxy: not listening');
    return (this.server.address() as AddressInfo).port;
  }

  get mode(): ProxyMode {
    return this.current;
  }

  /** False while the link is cut (mode `reset`). */
  get up(): boolean {
    return this.current.kind !== 'reset';
  }

  /** Open client connections (relayed or held). */
  get openConnections(): number {
    return this.pairs.size;
  }

  /** Resets every open connection and every new one, as a lost network does. */
  cut(): void {
    this.setMode({ kind: 'reset' });
  }

  /** Relays again. */
  restore(): void {
    this.setMode({ kind: 'pass' });
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

  /**
   * Forwards `from` → `to` according to the mode at the time each chunk arrives. Reading
   * pauses while `to` is backed up (as `pipe` would), so a large body is not buffered whole.
   */
  private relay(pair: Pair, from: Socket, to: Socket): void {
    let chain = Promise.resolve();
    let waitingForDrain = false;
    const forward = (chunk: Buffer) => {
      if (pair.dead || to.destroyed) return;
      if (!to.write(chunk) && !waitingForDrain) {
        waitingForDrain = true;
        from.pause();
        to.once('drain', () => {
          waitingForDrain = false;
          from.resume();
        });
      }
    };
    from.on('data', (chunk: Buffer) => {
      if (pair.dead) return;
      const mode = this.current;
      if (mode.kind === 'delay') {
        // Latency, not a throttle: each chunk leaves `ms` after it arrived, in order.
        const due = Date.now() + mode.ms;
        chain = chain
          .then(() => new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, due - Date.now()))))
          .then(() => forward(chunk));
      } else {
        chain = chain.then(() => forward(chunk));
      }
    });
    from.on('end', () => {
      void chain.then(() => {
        if (!pair.dead) to.end();
      });
    });
  }
}
