import { z } from 'zod';
import { DISPLAY_DOCUMENT_MAX_BYTES } from '../product/display.js';
import { FramePresented, PanelView, RendererErrorReport } from './bridge.js';

/**
 * The renderer bridge over a WebSocket, for the headless host (the Electron host uses the
 * preload instead, see `PanelBridge`). Both ends validate every message with these schemas.
 *
 * Discovery: the renderer uses `window.airpanel` when a preload put a `PanelBridge` there;
 * otherwise it connects to `ws(s)://<location.host>` + `BRIDGE_WS_PATH` of the host that
 * served it. Every message is one JSON text frame.
 *
 * - server → client: `{type:'view', view}`: sent at once on every new connection (the
 *   current view, so `getView()` resolves) and again on every change.
 * - client → server: `{type:'frame-presented', frame}` after the renderer painted a view;
 *   `{type:'renderer-error', report}` for an error the renderer caught.
 *
 * The client reconnects with backoff when the socket drops and keeps showing the last view
 * meanwhile; the server re-sends the current view on the new connection.
 */
export const BRIDGE_WS_PATH = '/bridge';

/** Drop any frame larger than this before parsing it (bytes of UTF-8 JSON). */
export const BRIDGE_WIRE_MAX_BYTES = DISPLAY_DOCUMENT_MAX_BYTES + 4 * 1024;

export const BridgeServerMessage = z.discriminatedUnion('type', [z.object({ type: z.literal('view'), view: PanelView })]);
export type BridgeServerMessage = z.infer<typeof BridgeServerMessage>;

export const BridgeClientMessage = z.discriminatedUnion('type', [
  z.object({ type: z.literal('frame-presented'), frame: FramePresented }),
  z.object({ type: z.literal('renderer-error'), report: RendererErrorReport }),
]);
export type BridgeClientMessage = z.infer<typeof BridgeClientMessage>;
