import type { Page } from '@playwright/test';
import type { FramePresented, PanelView, RendererErrorReport } from '@airpanel/contract/internal';

/**
 * A test stand-in for the main process side of the bridge, for the renderer's own specs:
 * installed before the page loads as `window.airpanel`, exactly where the Electron preload
 * puts the real one. It records what the renderer reports; the test pushes views into it.
 * (The headless host's WebSocket bridge is tested for real in renderer-websocket.spec.ts.)
 */
interface FakeBridgeState {
  frames: FramePresented[];
  errors: RendererErrorReport[];
  push(view: unknown): void;
}

declare global {
  interface Window {
    __fakeBridge: FakeBridgeState;
  }
}

export class FakeBridge {
  private constructor(private readonly page: Page) {}

  /** Installs the bridge in every document the page loads from now on. */
  static async install(page: Page, initial: PanelView | unknown, options: { answer?: boolean } = {}): Promise<FakeBridge> {
    await page.addInitScript(
      ([initialView, answer]: [unknown, boolean]) => {
        const listeners = new Set<(view: unknown) => void>();
        let current = initialView;
        const state: FakeBridgeState = {
          frames: [],
          errors: [],
          push(view) {
            current = view;
            for (const listener of listeners) listener(view);
          },
        };
        Object.defineProperty(window, '__fakeBridge', { value: state });
        Object.defineProperty(window, 'airpanel', {
          value: Object.freeze({
            // answer=false: a main process that has not answered yet.
            getView: () => (answer ? Promise.resolve(current) : new Promise(() => {})),
            onView(listener: (view: unknown) => void) {
              listeners.add(listener);
              return () => listeners.delete(listener);
            },
            framePresented: (frame: FramePresented) => state.frames.push(frame),
            reportError: (report: RendererErrorReport) => state.errors.push(report),
          }),
        });
      },
      [initial, options.answer ?? true] as [unknown, boolean],
    );
    return new FakeBridge(page);
  }

  async push(view: PanelView | unknown): Promise<void> {
    await this.page.evaluate((v) => window.__fakeBridge.push(v), view);
  }

  frames(): Promise<FramePresented[]> {
    return this.page.evaluate(() => window.__fakeBridge.frames);
  }

  errors(): Promise<RendererErrorReport[]> {
    return this.page.evaluate(() => window.__fakeBridge.errors);
  }

  /** Waits until the renderer reported this frame as painted. */
  async waitForFrame(frame: FramePresented): Promise<void> {
    await this.page.waitForFunction((f) => window.__fakeBridge.frames.some((x) => x.kind === f.kind && x.revision === f.revision), frame);
  }
}
