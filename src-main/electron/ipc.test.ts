import { EventEmitter } from 'node:events';
import type { IpcMain, WebContents } from 'electron';
import { describe, expect, it } from 'vitest';
import { BRIDGE_CHANNELS, type FramePresented, type PanelView, type RendererErrorReport } from '@airpanel/contract/internal';
import type { PanelViewSource } from '../core/host.js';
import { registerBridgeIpc } from './ipc.js';

// registerBridgeIpc imports Electron for types only, so its sender check and payload
// validation run here against a test implementation of ipcMain (an EventEmitter with
// handle/removeHandler) and of the panel's web contents. Electron itself: test/electron.

/** Test implementation of ipcMain. */
class TestIpcMain extends EventEmitter {
  handlers = new Map<string, (event: unknown, ...args: unknown[]) => unknown>();
  handle(channel: string, fn: (event: unknown, ...args: unknown[]) => unknown) {
    this.handlers.set(channel, fn);
  }
  removeHandler(channel: string) {
    this.handlers.delete(channel);
  }
}

/** Test implementation of the core side. */
class RecordingSource implements PanelViewSource {
  frames: FramePresented[] = [];
  errors: RendererErrorReport[] = [];
  listeners = new Set<(v: PanelView) => void>();
  getView(): PanelView {
    return { kind: 'maintenance', code: 'CFG-1' };
  }
  onView(l: (v: PanelView) => void) {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }
  framePresented(f: FramePresented) {
    this.frames.push(f);
  }
  rendererError(r: RendererErrorReport) {
    this.errors.push(r);
  }
  hostFault() {
    /* not used here */
  }
}

const quietLog = { error: () => undefined, warn: () => undefined, info: () => undefined, debug: () => undefined };

function setup() {
  const ipc = new TestIpcMain();
  const source = new RecordingSource();
  const sent: unknown[] = [];
  const mainFrame = { url: 'app://panel/index.html' };
  /** Test implementation of the panel window's web contents. */
  const contents = { mainFrame, isDestroyed: () => false, send: (ch: string, v: unknown) => sent.push([ch, v]) };
  const dispose = registerBridgeIpc({
    ipcMain: ipc as unknown as IpcMain,
    source,
    log: quietLog,
    panelContents: () => contents as unknown as WebContents,
  });
  const event = (over: Partial<{ sender: unknown; senderFrame: unknown }> = {}) => ({ sender: contents, senderFrame: mainFrame, ...over });
  return { ipc, source, sent, mainFrame, contents, dispose, event };
}

describe('registerBridgeIpc', () => {
  it('answers getView and forwards valid messages from the app frame', async () => {
    const { ipc, source, event } = setup();
    expect(await ipc.handlers.get(BRIDGE_CHANNELS.getView)!(event())).toEqual({ kind: 'maintenance', code: 'CFG-1' });
    ipc.emit(BRIDGE_CHANNELS.framePresented, event(), { kind: 'content', revision: 4 });
    ipc.emit(BRIDGE_CHANNELS.reportError, event(), { message: 'font failed' });
    expect(source.frames).toEqual([{ kind: 'content', revision: 4 }]);
    expect(source.errors).toEqual([{ message: 'font failed' }]);
  });

  it('drops invalid payloads', () => {
    const { ipc, source, event } = setup();
    for (const bad of [null, 'x', { kind: 'content', revision: -1 }, { kind: 'other', revision: 1 }, { kind: 'booting' }]) {
      ipc.emit(BRIDGE_CHANNELS.framePresented, event(), bad);
    }
    ipc.emit(BRIDGE_CHANNELS.reportError, event(), { message: 'x'.repeat(2001) });
    ipc.emit(BRIDGE_CHANNELS.reportError, event(), { text: 'wrong field' });
    expect(source.frames).toEqual([]);
    expect(source.errors).toEqual([]);
  });

  it('ignores other senders: another web contents, a subframe, a foreign page', async () => {
    const { ipc, source, event, mainFrame } = setup();
    const others = [
      event({ sender: { mainFrame } }),
      event({ senderFrame: { url: 'app://panel/index.html' } }),
      event({ senderFrame: null }),
    ];
    mainFrame.url = 'data:text/html,maintenance';
    others.push(event());
    for (const e of others) {
      ipc.emit(BRIDGE_CHANNELS.framePresented, e, { kind: 'booting', revision: null });
      expect(() => ipc.handlers.get(BRIDGE_CHANNELS.getView)!(e)).toThrow('forbidden');
    }
    expect(source.frames).toEqual([]);
  });

  it('pushes new views to the app only, and unregisters', () => {
    const { ipc, source, sent, mainFrame, dispose } = setup();
    const view: PanelView = { kind: 'booting' };
    for (const l of source.listeners) l(view);
    expect(sent).toEqual([[BRIDGE_CHANNELS.view, view]]);
    mainFrame.url = 'data:text/html,maintenance';
    for (const l of source.listeners) l(view);
    expect(sent).toHaveLength(1);
    dispose();
    expect(source.listeners.size).toBe(0);
    expect(ipc.handlers.size).toBe(0);
    expect(ipc.listenerCount(BRIDGE_CHANNELS.framePresented)).toBe(0);
  });
});
