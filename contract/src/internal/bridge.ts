import { z } from 'zod';
import { DisplayDocument } from '../product/display.js';
import { IsoDateTime } from '../product/primitives.js';

/**
 * What the renderer must show now, decided by the main process (the firmware core). The
 * renderer never decides state on its own: it draws this.
 */
export const PanelView = z.discriminatedUnion('kind', [
  /** Nothing to show yet (first boot, no cache): a neutral splash, never a blank frame. */
  z.object({ kind: z.literal('booting') }),
  z.object({
    kind: z.literal('content'),
    document: DisplayDocument,
    /** Set while the content is not confirmed within the freshness window. */
    stale: z.object({ since: IsoDateTime }).nullable(),
    /**
     * Set while the level shown is the panel's own (its sensor, the document's scheme and
     * content) because the backend's document is stale; the renderer marks it discreetly.
     */
    ownMeasurement: z.object({ since: IsoDateTime }).nullable().optional(),
  }),
  /** The maintenance icon and a short code a technician can read, e.g. `CFG-1`. */
  z.object({ kind: z.literal('maintenance'), code: z.string().regex(/^[A-Z]{2,5}-[0-9]{1,3}$/) }),
]);
export type PanelView = z.infer<typeof PanelView>;

/** Reported by the renderer once a view is on screen (used for health and latency). */
export const FramePresented = z.object({
  kind: z.enum(['booting', 'content', 'maintenance']),
  revision: z.number().int().min(0).nullable(),
});
export type FramePresented = z.infer<typeof FramePresented>;

export const RendererErrorReport = z.object({
  message: z.string().max(2000),
});
export type RendererErrorReport = z.infer<typeof RendererErrorReport>;

/**
 * The renderer's only way to reach the main process: one function per action. Implemented
 * twice with the same type, by the Electron preload (contextBridge + IPC) and by the
 * headless host (WebSocket), so the renderer cannot tell which host it runs in.
 * Every payload crossing the bridge is validated with the schemas above on the main side.
 */
export interface PanelBridge {
  /** The current view; resolves at once. */
  getView(): Promise<PanelView>;
  /** Called with each new view; returns an unsubscribe function. */
  onView(listener: (view: PanelView) => void): () => void;
  /** The renderer painted a view (first frame, content switch). */
  framePresented(frame: FramePresented): void;
  /** An error the renderer caught (it keeps running). */
  reportError(report: RendererErrorReport): void;
}

/** Channel names shared by preload and host (zod-free file: the preload bundles it). */
export { BRIDGE_CHANNELS } from './bridge-channels.js';
