import type { IpcMain, IpcMainEvent, IpcMainInvokeEvent, WebContents } from 'electron';
import { BRIDGE_CHANNELS, FramePresented, PanelView, RendererErrorReport } from '@airpanel/contract/internal';
import type { PanelViewSource } from '../core/host.js';
import type { Logger } from '@airpanel/node-support/logger';
import { isAppUrl } from './app-origin.js';

/**
 * The main-process side of the preload bridge. A message is accepted only from the panel
 * window's own web contents, from its main frame, while that frame shows the app's own
 * origin (app://panel); its payload must pass the contract's zod schema. Anything else is
 * dropped and logged.
 */
export function registerBridgeIpc(opts: {
  ipcMain: IpcMain;
  source: PanelViewSource;
  log: Logger;
  /** The panel window's contents (null while there is none). */
  panelContents: () => WebContents | null;
}): () => void {
  const { ipcMain, source, log } = opts;

  const trusted = (event: IpcMainEvent | IpcMainInvokeEvent, channel: string): boolean => {
    const contents = opts.panelContents();
    const frame = event.senderFrame;
    const ok = contents !== null && event.sender === contents && frame !== null && frame === contents.mainFrame && isAppUrl(frame.url);
    if (!ok) log.warn('ipc: message from an untrusted sender dropped', { channel, url: frame?.url ?? null });
    return ok;
  };

  ipcMain.handle(BRIDGE_CHANNELS.getView, (event) => {
    if (!trusted(event, BRIDGE_CHANNELS.getView)) throw new Error('forbidden');
    return PanelView.parse(source.getView());
  });
  const onFrame = (event: IpcMainEvent, payload: unknown) => {
    if (!trusted(event, BRIDGE_CHANNELS.framePresented)) return;
    const r = FramePresented.safeParse(payload);
    if (!r.success) log.warn('ipc: invalid frame-presented dropped', { issue: r.error.issues[0]?.message });
    else source.framePresented(r.data);
  };
  const onError = (event: IpcMainEvent, payload: unknown) => {
    if (!trusted(event, BRIDGE_CHANNELS.reportError)) return;
    const r = RendererErrorReport.safeParse(payload);
    if (!r.success) log.warn('ipc: invalid renderer error report dropped', { issue: r.error.issues[0]?.message });
    else source.rendererError(r.data);
  };
  ipcMain.on(BRIDGE_CHANNELS.framePresented, onFrame);
  ipcMain.on(BRIDGE_CHANNELS.reportError, onError);

  // Push every new view to the panel window, if it shows the app.
  const unsubscribe = source.onView((view) => {
    const contents = opts.panelContents();
    if (contents && !contents.isDestroyed() && isAppUrl(contents.mainFrame.url)) contents.send(BRIDGE_CHANNELS.view, view);
  });

  return () => {
    unsubscribe();
    ipcMain.removeHandler(BRIDGE_CHANNELS.getView);
    ipcMain.removeListener(BRIDGE_CHANNELS.framePresented, onFrame);
    ipcMain.removeListener(BRIDGE_CHANNELS.reportError, onError);
  };
}
