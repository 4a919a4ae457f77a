/**
 * Preload of the panel window. It runs sandboxed (sandbox: true, contextIsolation: true):
 * it may only `require('electron')`, so build.ts bundles it into one CommonJS file
 * (dist/app/preload.cjs) with the channel names inlined.
 *
 * It exposes exactly one object, `window.airpanel`, a PanelBridge with one function per
 * action. No Electron object (ipcRenderer, the IPC event) ever reaches the page: listeners
 * get the view only. The main process validates everything it receives (ipc.ts).
 */
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import { BRIDGE_CHANNELS } from '@airpanel/contract/internal';
import type { FramePresented, PanelBridge, PanelView, RendererErrorReport } from '@airpanel/contract/internal';

const bridge: PanelBridge = {
  getView: () => ipcRenderer.invoke(BRIDGE_CHANNELS.getView) as Promise<PanelView>,
  onView(listener: (view: PanelView) => void) {
    const handler = (_event: IpcRendererEvent, view: PanelView) => listener(view);
    ipcRenderer.on(BRIDGE_CHANNELS.view, handler);
    return () => {
      ipcRenderer.removeListener(BRIDGE_CHANNELS.view, handler);
    };
  },
  framePresented: (frame: FramePresented) => ipcRenderer.send(BRIDGE_CHANNELS.framePresented, frame),
  reportError: (report: RendererErrorReport) => ipcRenderer.send(BRIDGE_CHANNELS.reportError, report),
};

contextBridge.exposeInMainWorld('airpanel', bridge);
