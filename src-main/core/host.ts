import type { FramePresented, PanelView, RendererErrorReport } from '@airpanel/contract/internal';

/**
 * The exit code with which a host asks its supervisor to start it again (command `restart`):
 * the OTA loader relaunches the bundle, systemd restarts the unit (`RestartForceExitStatus=75`),
 * the dev stack starts the panel again. 75 = EX_TEMPFAIL.
 */
export const RESTART_EXIT_CODE = 75;

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
