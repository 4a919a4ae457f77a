import type { App } from 'vue';
import type { RendererErrorReport } from '@airpanel/contract/internal';

type Report = (report: RendererErrorReport) => void;

/** How often the same message may be reported (a render loop must not flood the host). */
const REPEAT_WINDOW_MS = 10_000;

function describe(err: unknown): string {
  if (err instanceof Error) return `${err.name}: ${err.message}`;
  try {
    return typeof err === 'string' ? err : JSON.stringify(err);
  } catch {
    return String(err);
  }
}

/**
 * Catches what the renderer would otherwise lose (Vue errors, uncaught errors, unhandled
 * rejections) and reports it over the bridge; the renderer keeps running.
 */
export function installErrorReporting(app: App, report: Report, win: Window = window): (err: unknown, where: string) => void {
  const lastSent = new Map<string, number>();
  const send = (err: unknown, where: string) => {
    const message = `${where}: ${describe(err)}`.slice(0, 2000);
    const now = Date.now();
    const last = lastSent.get(message);
    if (last !== undefined && now - last < REPEAT_WINDOW_MS) return;
    lastSent.set(message, now);
    if (lastSent.size > 100) lastSent.clear();
    console.error('airpanel renderer:', message);
    try {
      report({ message });
    } catch (reportErr) {
      console.error('airpanel renderer: cannot report', reportErr);
    }
  };
  app.config.errorHandler = (err, _instance, info) => send(err, `vue (${info})`);
  win.addEventListener('error', (event) => send(event.error ?? event.message, 'window.onerror'));
  win.addEventListener('unhandledrejection', (event) => send(event.reason, 'unhandledrejection'));
  return send;
}
