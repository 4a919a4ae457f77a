import { z } from 'zod';

/**
 * The few Chrome DevTools Protocol messages the headless hosts read when they drive a
 * Chromium page (`screenshot`, `reload`, liveness, the kiosk's navigation filter), over
 * `--remote-debugging-port` or `--remote-debugging-pipe`. Only what is used is checked; the
 * rest passes through.
 */

/** One entry of `GET /json/list`. */
export const CdpTarget = z.object({
  id: z.string(),
  type: z.string(),
  url: z.string(),
  webSocketDebuggerUrl: z
    .string()
    .regex(/^wss?:\/\//)
    .optional(),
});
export type CdpTarget = z.infer<typeof CdpTarget>;
export const CdpTargetList = z.array(CdpTarget);

/** `Page.captureScreenshot`'s result. */
export const CdpScreenshotResult = z.object({ data: z.base64() });

/**
 * Any message from the browser over the pipe (`--remote-debugging-pipe`) or a flattened
 * session: an answer (`id`) or an event (`method`), either possibly for a `sessionId`.
 */
export const CdpMessage = z.object({
  id: z.number().int().optional(),
  method: z.string().max(200).optional(),
  params: z.record(z.string(), z.unknown()).optional(),
  result: z.record(z.string(), z.unknown()).optional(),
  error: z.object({ code: z.number(), message: z.string() }).optional(),
  sessionId: z.string().max(200).optional(),
});
export type CdpMessage = z.infer<typeof CdpMessage>;

/** `targetInfo` of `Target.getTargets` / `Target.targetCreated` / `Target.targetInfoChanged`. */
export const CdpTargetInfo = z.object({ targetId: z.string(), type: z.string(), url: z.string() });
export type CdpTargetInfo = z.infer<typeof CdpTargetInfo>;
export const CdpGetTargetsResult = z.object({ targetInfos: z.array(CdpTargetInfo) });
export const CdpTargetEvent = z.object({ targetInfo: CdpTargetInfo });
export const CdpTargetIdEvent = z.object({ targetId: z.string() });
export const CdpAttachResult = z.object({ sessionId: z.string() });
export const CdpDetachedEvent = z.object({ sessionId: z.string() });
export const CdpAttachedEvent = z.object({ sessionId: z.string(), targetInfo: CdpTargetInfo });

/** `Runtime.evaluate`'s result (by value). */
export const CdpEvaluateResult = z.object({
  result: z.object({ type: z.string(), value: z.unknown().optional() }),
  exceptionDetails: z.unknown().optional(),
});

/** `Fetch.requestPaused` (only the fields the navigation filter reads). */
export const CdpRequestPaused = z.object({
  requestId: z.string(),
  request: z.object({ url: z.string() }),
  resourceType: z.string().optional(),
});
