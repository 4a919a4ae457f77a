import type { FramePresented, PanelView, RendererErrorReport } from '@airpanel/contract/internal';

// The exit code of a requested restart is shared with the loader, which must not count it as a crash.
export { RESTART_EXIT_CODE } from '@airpanel/contract/internal';

/**
 * What the core needs from the host it runs in (Electron, or the headless host under plain
 * Node). Given to the core's constructor, so the core never imports a host.
 */
export interface HostActions {
  /** Reload the renderer (command `reload`). */
  reloadRenderer(): Promise<void>;
  /** Restart the whole app (command `restart`); the supervisor (systemd) brings it back. */
  restartApp(): Promise<void>;
  /** A PNG of what the screen shows now (command `screenshot`); null if no renderer. */
  captureScreenshot(): Promise<Uint8Array | null>;
}

/**
 * What a host needs from the core to drive a renderer: the bridge's main-process side.
 * Payloads from the renderer are validated by the host before they reach these methods.
 */
export interface PanelViewSource {
  getView(): PanelView;
  /** Returns an unsubscribe function. */
  onView(listener: (view: PanelView) => void): () => void;
  framePresented(frame: FramePresented): void;
  rendererError(report: RendererErrorReport): void;
  /** A host-level fault the core must know (renderer crash loop → maintenance). */
  hostFault(code: string, detail: string): void;
}
