import { z } from 'zod';

/**
 * The few Chrome DevTools Protocol messages the headless host reads when it drives a
 * Chromium page for `screenshot` and `reload` (a kiosk browser started with
 * `--remote-debugging-port`). Only what is used is checked; the rest passes through.
 */

/** One entry of `GET /json/list`. */
export const CdpTarget = z.object({
  id: z.string(),
  type: z.string(),
  url: z.string(),
  webSocketDebuggerUrl: z.string().regex(/^wss?:\/\//).optional(),
});
export type CdpTarget = z.infer<typeof CdpTarget>;
export const CdpTargetList = z.array(CdpTarget);

/** An answer to a command (events, which carry `method` and no `id`, are ignored). */
export const CdpResponse = z.object({
  id: z.number().int(),
  result: z.record(z.string(), z.unknown()).optional(),
  error: z.object({ code: z.number(), message: z.string() }).optional(),
});
export type CdpResponse = z.infer<typeof CdpResponse>;

/** `Page.captureScreenshot`'s result. */
export const CdpScreenshotResult = z.object({ data: z.base64() });
