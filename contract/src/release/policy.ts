import { canonicalJson } from './canonical.js';
import { ReleaseManifest, runtimeShortfall, SignedManifestEnvelope, type RuntimeInfo, type SignedManifest } from './manifest.js';
import { isInRollout } from './rollout.js';
import { compareVersions } from './version.js';

/**
 * Checks an Ed25519 signature. Implemented in the core with node:crypto (see
 * src-main/core/update/keys.ts); common only holds the policy around it.
 */
export interface SignatureVerifier {
  /** Is `keyId` one of the panel's trusted keys? */
  isTrusted(keyId: string): boolean;
  /** True iff `signature` (base64) is a valid signature by trusted key `keyId` of `message` (UTF-8). */
  verify(keyId: string, message: string, signature: string): boolean;
}

/** What the panel knows about itself when it judges a manifest. */
export interface PanelReleaseContext {
  panelId: string;
  channel: string;
  /** The host and its runtime's version (Electron's, or Node's on the Node kiosk host). */
  runtime: RuntimeInfo;
  /** Bundle version running now. */
  runningVersion: string;
  /** Highest manifest counter ever accepted (persisted; at least the image's floor). */
  highestCounter: number;
  /** Versions the loader refused after a failed trial: never installed again. */
  refusedVersions: readonly string[];
  /** Build time of the image (ms since epoch): a clock before it is "unsynced". */
  buildTimeMs: number;
  /**
   * The image's factory bundle version (from the read-only root): a release below it is an
   * old one replayed to a wiped panel, refused whatever the clock says.
   */
  factoryVersion?: string;
}

export interface ReleasePolicyOptions {
  /** Tolerated clock skew for releasedAt / expiresAt, ms. Default 10 minutes. */
  clockSkewMs?: number;
  /**
   * While the clock is unsynced (before the image's build time), expiry cannot be judged, so
   * it is not used to reject; instead a counter more than this far above the highest accepted
   * one is refused, so a stale-but-validly-signed manifest cannot push the high-water mark far
   * ahead. Default 20.
   */
  maxCounterJumpWhenUnsynced?: number;
  /**
   * Even with a synced clock, a counter more than this far above the highest accepted one is
   * refused: one manifest signed with a huge counter (a slip, or a stolen key used once)
   * would otherwise make the panel refuse every later release (TUF's fast-forward).
   * Default 10,000: years of releases.
   */
  maxCounterJump?: number;
}

export type RejectReason =
  | 'malformed'
  | 'unknown-key'
  | 'bad-signature'
  | 'invalid-manifest'
  | 'wrong-channel'
  | 'expired'
  | 'not-yet-valid'
  | 'replayed'
  | 'counter-too-far-ahead-unsynced'
  | 'counter-too-far-ahead'
  | 'below-factory-version'
  | 'runtime-too-old';

/**
 * The verdict on a fetched manifest. Only `install` leads to a download; `current` means the
 * release is the one running (e.g. a re-signed manifest or a rollback to it): the counter is
 * recorded, nothing is downloaded.
 */
export type ReleaseVerdict =
  | { kind: 'install'; signed: SignedManifest; clockUnsynced: boolean }
  | { kind: 'current'; signed: SignedManifest }
  | { kind: 'skip'; reason: 'already-seen' | 'not-in-rollout' | 'refused-version'; signed: SignedManifest }
  | { kind: 'reject'; reason: RejectReason; detail: string };

/**
 * The panel's trust decision, in the order that matters: nothing in the manifest is read
 * before a trusted signature over its canonical bytes has been verified.
 */
export function evaluateRelease(
  raw: unknown,
  verifier: SignatureVerifier,
  ctx: PanelReleaseContext,
  nowMs: number,
  options: ReleasePolicyOptions = {},
): ReleaseVerdict {
  const skew = options.clockSkewMs ?? 10 * 60_000;
  const maxJump = options.maxCounterJumpWhenUnsynced ?? 20;
  const maxJumpSynced = options.maxCounterJump ?? 10_000;
  const envelope = SignedManifestEnvelope.safeParse(raw);
  if (!envelope.success)
    return { kind: 'reject', reason: 'malformed', detail: envelope.error.issues[0]?.message ?? 'not a signed manifest' };

  let message: string;
  try {
    message = canonicalJson(envelope.data.manifest);
  } catch (e) {
    return { kind: 'reject', reason: 'malformed', detail: (e as Error).message };
  }
  const trusted = envelope.data.signatures.filter((s) => verifier.isTrusted(s.keyId));
  if (trusted.length === 0) {
    return {
      kind: 'reject',
      reason: 'unknown-key',
      detail: `no trusted key among ${envelope.data.signatures.map((s) => s.keyId).join(', ')}`,
    };
  }
  if (!trusted.some((s) => verifier.verify(s.keyId, message, s.signature))) {
    return { kind: 'reject', reason: 'bad-signature', detail: 'no valid signature by a trusted key' };
  }

  const parsed = ReleaseManifest.safeParse(envelope.data.manifest);
  if (!parsed.success)
    return {
      kind: 'reject',
      reason: 'invalid-manifest',
      detail: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '),
    };
  const m = parsed.data;
  const signed: SignedManifest = { manifest: m, signatures: envelope.data.signatures };

  if (m.channel !== ctx.channel)
    return { kind: 'reject', reason: 'wrong-channel', detail: `manifest for ${m.channel}, panel on ${ctx.channel}` };

  const clockUnsynced = nowMs < ctx.buildTimeMs - skew;
  if (!clockUnsynced) {
    if (Date.parse(m.expiresAt) + skew < nowMs) return { kind: 'reject', reason: 'expired', detail: `expired at ${m.expiresAt}` };
    if (Date.parse(m.releasedAt) - skew > nowMs)
      return { kind: 'reject', reason: 'not-yet-valid', detail: `released at ${m.releasedAt}, in the future` };
  }

  if (m.counter < ctx.highestCounter)
    return { kind: 'reject', reason: 'replayed', detail: `counter ${m.counter} below accepted ${ctx.highestCounter}` };
  if (m.counter === ctx.highestCounter) return { kind: 'skip', reason: 'already-seen', signed };
  if (clockUnsynced && m.counter > ctx.highestCounter + maxJump) {
    return {
      kind: 'reject',
      reason: 'counter-too-far-ahead-unsynced',
      detail: `clock unsynced; counter ${m.counter} is more than ${maxJump} above ${ctx.highestCounter}`,
    };
  }
  if (m.counter > ctx.highestCounter + maxJumpSynced) {
    return {
      kind: 'reject',
      reason: 'counter-too-far-ahead',
      detail: `counter ${m.counter} is more than ${maxJumpSynced} above ${ctx.highestCounter}`,
    };
  }
  if (ctx.factoryVersion !== undefined && compareVersions(m.version, ctx.factoryVersion) < 0) {
    return {
      kind: 'reject',
      reason: 'below-factory-version',
      detail: `${m.version} is older than the image's factory bundle ${ctx.factoryVersion}`,
    };
  }

  const shortfall = runtimeShortfall(m.minRuntime, ctx.runtime);
  if (shortfall !== null) return { kind: 'reject', reason: 'runtime-too-old', detail: shortfall };
  if (m.version === ctx.runningVersion) return { kind: 'current', signed };
  if (ctx.refusedVersions.includes(m.version)) return { kind: 'skip', reason: 'refused-version', signed };
  if (!isInRollout(ctx.panelId, m.version, m.rolloutShare)) return { kind: 'skip', reason: 'not-in-rollout', signed };
  return { kind: 'install', signed, clockUnsynced };
}
