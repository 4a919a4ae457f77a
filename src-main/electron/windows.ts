import { app, BrowserWindow, screen } from 'electron';
import { PANEL_SIZES, type PanelSizeId } from '@airpanel/contract/internal';
import { devToolsEnabled } from './security.js';

/**
 * The windows of the Electron host. Every one: contextIsolation, sandbox, no Node, web
 * security on, no <webview>, no spellcheck, no navigation gestures; shown only once its
 * first frame is ready (`ready-to-show`) so a panel never flashes a blank or white window.
 */
function securePreferences(preload: string | null): Electron.WebPreferences {
  return {
    ...(preload ? { preload } : {}),
    contextIsolation: true,
    sandbox: true,
    nodeIntegration: false,
    nodeIntegrationInWorker: false,
    nodeIntegrationInSubFrames: false,
    webSecurity: true,
    allowRunningInsecureContent: false,
    webviewTag: false,
    navigateOnDragDrop: false,
    spellcheck: false,
    experimentalFeatures: false,
    // DevTools only on an unpackaged Electron when asked for (security.ts devToolsEnabled).
    devTools: devToolsEnabled(app.isPackaged, process.env),
    backgroundThrottling: false,
  };
}

function showWhenReady(win: BrowserWindow): void {
  win.once('ready-to-show', () => win.show());
}

/** The roadside kiosk: fullscreen, frameless, kiosk mode, no cursor, no menu. */
export function createKioskWindow(preload: string): BrowserWindow {
  const win = new BrowserWindow({
    show: false,
    frame: false,
    fullscreen: true,
    kiosk: true,
    autoHideMenuBar: true,
    backgroundColor: '#000000',
    webPreferences: securePreferences(preload),
  });
  win.setMenu(null);
  hideCursor(win);
  showWhenReady(win);
  return win;
}

/** No pointer on a panel: nobody holds a mouse at the roadside. */
function hideCursor(win: BrowserWindow): void {
  win.webContents.on('did-finish-load', () => {
    void win.webContents.insertCSS('*, *::before, *::after { cursor: none !important; }', { cssOrigin: 'user' });
  });
}

/**
 * The simulator's panel window: a normal resizable window showing the panel at a chosen
 * size. Panels are larger than most screens, so the content is zoomed out to fit while the
 * page still lays out at the panel's CSS size.
 */
export function createSimulatorPanelWindow(preload: string, size: PanelSizeId, position: { x: number; y: number } | null): BrowserWindow {
  const win = new BrowserWindow({
    show: false,
    resizable: true,
    useContentSize: true,
    title: 'Airpanel simulator: panel',
    backgroundColor: '#000000',
    ...(position ?? {}),
    webPreferences: securePreferences(preload),
  });
  win.setMenu(null);
  applySimulatorSize(win, size);
  // A (re)load may reset the zoom: apply the current one again.
  win.webContents.on('did-finish-load', () => win.webContents.setZoomFactor(zoomOf.get(win) ?? 1));
  showWhenReady(win);
  return win;
}

const zoomOf = new WeakMap<BrowserWindow, number>();

export function applySimulatorSize(win: BrowserWindow, size: PanelSizeId): void {
  const { width, height, label } = PANEL_SIZES[size];
  const area = screen.getDisplayMatching(win.getBounds()).workAreaSize;
  const scale = Math.min(1, (area.width * 0.7) / width, (area.height * 0.9) / height);
  zoomOf.set(win, scale);
  win.setContentSize(Math.round(width * scale), Math.round(height * scale));
  win.webContents.setZoomFactor(scale);
  win.setTitle(`Airpanel simulator: panel ${label}${scale < 1 ? ` at ${Math.round(scale * 100)} %` : ''}`);
}

/** The simulator's control window: the shared control page, no preload, no Node. */
export function createControlWindow(bounds: { x: number; y: number; width: number; height: number } | null): BrowserWindow {
  const win = new BrowserWindow({
    show: false,
    width: bounds?.width ?? 420,
    height: bounds?.height ?? 820,
    ...(bounds ? { x: bounds.x, y: bounds.y } : {}),
    title: 'Airpanel simulator: controls',
    webPreferences: securePreferences(null),
  });
  win.setMenu(null);
  showWhenReady(win);
  return win;
}
