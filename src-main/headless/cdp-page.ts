import { WebSocket } from 'ws';
import { CdpEvaluateResult, CdpScreenshotResult, CdpTargetList } from '@airpanel/contract/internal';
import { CdpConnection, webSocketTransport } from './cdp-connection.js';
import type { AttachedPage } from './headless-host.js';

/**
 * A Chromium page driven over the DevTools protocol, for the host's `screenshot` and `reload`
 * (and the Node kiosk host's liveness checks). Either connected to a browser started with
 * `--remote-debugging-port` (`CdpPage.connect`), or a flattened session of a connection the
 * host owns (`new CdpPage(connection, sessionId)`, the kiosk's `--remote-debugging-pipe`).
 */
export class CdpPage implements AttachedPage {
  constructor(
    readonly connection: CdpConnection,
    readonly sessionId?: string,
  ) {}

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
    return new CdpPage(new CdpConnection(webSocketTransport(ws), timeoutMs));
  }

  call(method: string, params: Record<string, unknown> = {}, timeoutMs?: number): Promise<Record<string, unknown>> {
    return this.connection.send(method, params, this.sessionId, timeoutMs);
  }

  async screenshot(): Promise<Uint8Array> {
    const result = CdpScreenshotResult.parse(await this.call('Page.captureScreenshot', { format: 'png' }));
    return new Uint8Array(Buffer.from(result.data, 'base64'));
  }

  async reload(): Promise<void> {
    await this.call('Page.reload', { ignoreCache: true });
  }

  async navigate(url: string): Promise<void> {
    await this.call('Page.navigate', { url });
  }

  /**
   * Evaluates an expression in the page and returns its value (a round-trip to the renderer).
   * `userGesture`: as if a person had touched the page (what a popup needs to get past the blocker).
   */
  async evaluate(expression: string, timeoutMs?: number, options: { userGesture?: boolean } = {}): Promise<unknown> {
    const r = CdpEvaluateResult.parse(
      await this.call('Runtime.evaluate', { expression, returnByValue: true, userGesture: options.userGesture ?? false }, timeoutMs),
    );
    if (r.exceptionDetails !== undefined) throw new Error(`page threw evaluating ${expression.slice(0, 80)}`);
    return r.result.value;
  }

  close(): void {
    if (this.sessionId === undefined) this.connection.close();
  }
}
