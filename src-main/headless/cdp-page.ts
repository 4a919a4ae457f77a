import { WebSocket } from 'ws';
import { CdpResponse, CdpScreenshotResult, CdpTargetList } from '../common/contract/cdp.js';
import type { AttachedPage } from './headless-host.js';

/**
 * A Chromium page driven over the DevTools protocol, for the host's `screenshot` and `reload`
 * when the panel is shown by a kiosk browser started with `--remote-debugging-port` (bound to
 * 127.0.0.1 by Chromium). Attach it with `host.attachPage(await CdpPage.connect(...))`.
 */
export class CdpPage implements AttachedPage {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (r: Record<string, unknown>) => void; reject: (e: Error) => void }>();

  private constructor(private readonly ws: WebSocket, private readonly timeoutMs: number) {
    ws.on('message', (data) => this.onMessage(String(data)));
    ws.on('close', () => {
      for (const p of this.pending.values()) p.reject(new Error('DevTools connection closed'));
      this.pending.clear();
    });
  }

  /**
   * Connects to the first page target whose URL `matches` (e.g. starts with the host's URL)
   * of the browser whose DevTools HTTP endpoint is `debugUrl` (`http://127.0.0.1:9222`).
   */
  static async connect(debugUrl: string, matches: (url: string) => boolean, timeoutMs = 10_000): Promise<CdpPage> {
    const res = await fetch(new URL('/json/list', debugUrl), { signal: AbortSignal.timeout(timeoutMs) });
    const targets = CdpTargetList.parse(await res.json());
    const target = targets.find((t) => t.type === 'page' && matches(t.url) && t.webSocketDebuggerUrl);
    if (!target?.webSocketDebuggerUrl) throw new Error(`no page target matching at ${debugUrl} (${targets.length} targets)`);
    const ws = new WebSocket(target.webSocketDebuggerUrl, { perMessageDeflate: false, maxPayload: 64 * 1024 * 1024 });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return new CdpPage(ws, timeoutMs);
  }

  async screenshot(): Promise<Uint8Array> {
    const result = CdpScreenshotResult.parse(await this.call('Page.captureScreenshot', { format: 'png' }));
    return new Uint8Array(Buffer.from(result.data, 'base64'));
  }

  async reload(): Promise<void> {
    await this.call('Page.reload', { ignoreCache: true });
  }

  close(): void {
    this.ws.close();
  }

  private call(method: string, params: Record<string, unknown>): Promise<Record<string, unknown>> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`DevTools ${method}: no answer within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      this.pending.set(id, {
        resolve: (r) => { clearTimeout(timer); resolve(r); },
        reject: (e) => { clearTimeout(timer); reject(e); },
      });
      this.ws.send(JSON.stringify({ id, method, params }));
    });
  }

  private onMessage(text: string): void {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      return;
    }
    const msg = CdpResponse.safeParse(json);
    if (!msg.success) return; // an event (no id), not an answer
    const p = this.pending.get(msg.data.id);
    if (!p) return;
    this.pending.delete(msg.data.id);
    if (msg.data.error) p.reject(new Error(`DevTools: ${msg.data.error.message}`));
    else p.resolve(msg.data.result ?? {});
  }
}
