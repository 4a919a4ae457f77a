import { request, type ClientRequest } from 'node:http';
import { SimulatorState } from '@airpanel/contract/internal';
import type { Logger } from '@airpanel/node-support/logger';

/**
 * Follows the simulator's state stream (`GET /simulator/api/events`, server-sent events)
 * from the main process, so the Electron simulator can resize its panel window when the
 * control page switches the size. Reconnects after a drop; every event is validated.
 * Plain Node (no Electron), so it is unit-tested against a real HTTP server.
 */
export class SimulatorEvents {
  private req: ClientRequest | null = null;
  private stopped = false;
  private retry: NodeJS.Timeout | null = null;

  constructor(
    private readonly baseUrl: string,
    private readonly onState: (state: SimulatorState) => void,
    private readonly log: Logger,
    private readonly retryMs = 1_000,
  ) {}

  start(): void {
    if (this.stopped || this.req) return;
    const url = new URL('/simulator/api/events', this.baseUrl);
    const req = request(url, { headers: { accept: 'text/event-stream' } }, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        this.log.warn('simulator events: unexpected answer', { status: res.statusCode });
        return;
      }
      res.setEncoding('utf8');
      let buf = '';
      res.on('data', (chunk: string) => {
        buf += chunk;
        if (buf.length > 1_000_000) buf = '';
        let i: number;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const data = block
            .split('\n')
            .filter((l) => l.startsWith('data:'))
            .map((l) => l.slice(5).trimStart())
            .join('\n');
          if (data) this.deliver(data);
        }
      });
    });
    req.on('error', (err) => this.log.debug('simulator events: connection error', { error: err.message }));
    req.on('close', () => {
      this.req = null;
      if (!this.stopped)
        this.retry = setTimeout(() => {
          this.retry = null;
          this.start();
        }, this.retryMs);
    });
    req.end();
    this.req = req;
  }

  stop(): void {
    this.stopped = true;
    if (this.retry) clearTimeout(this.retry);
    this.req?.destroy();
    this.req = null;
  }

  private deliver(data: string): void {
    let json: unknown;
    try {
      json = JSON.parse(data);
    } catch {
      this.log.warn('simulator events: not JSON');
      return;
    }
    const r = SimulatorState.safeParse(json);
    if (!r.success) {
      this.log.warn('simulator events: invalid state dropped', { issue: r.error.issues[0]?.message });
      return;
    }
    this.onState(r.data);
  }
}
