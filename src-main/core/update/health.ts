import type { FramePresented } from '@airpanel/contract/internal';
import type { Logger } from '@airpanel/node-support/logger';

/**
 * How a bundle tells the loader it is healthy: one IPC message to the parent process. The
 * loader starts bundles with an IPC channel (Electron main supports `process.send` when
 * spawned that way). Harmless when unsupervised.
 */
export const HEALTHY_MESSAGE = { type: 'airpanel/healthy' } as const;

/**
 * Sent with every systemd WATCHDOG=1 ping (core/kiosk/systemd-notify.ts): once an app has sent
 * one, the loader expects the next within its liveness limit, or kills the app as hung and
 * counts a crash of its version (so a committed bundle that hangs is given up in time).
 */
export const ALIVE_MESSAGE = { type: 'airpanel/alive' } as const;

export function reportAliveToLoader(send: ((msg: unknown) => boolean) | undefined = process.send?.bind(process)): boolean {
  if (!send) return false;
  try {
    return send(ALIVE_MESSAGE);
  } catch {
    return false;
  }
}

/** Sends the message as is. Hosts do not call this directly: they go through LoaderHealthGate. */
export function reportHealthyToLoader(send: ((msg: unknown) => boolean) | undefined = process.send?.bind(process)): boolean {
  if (!send) return false;
  try {
    return send(HEALTHY_MESSAGE);
  } catch {
    return false;
  }
}

/** How this run of the bundle has reached the backend, if it has. */
export type BackendReach = 'mqtt' | 'poll';

export interface HealthEvidence {
  /** The renderer painted content (a document, live or from the cache): not the splash, not a maintenance code. */
  paintedContent: boolean;
  /** MQTT connected, or a poll got an answer from the backend (200, 304, 404). */
  backendReached: BackendReach | null;
}

/**
 * THE health criterion, for both hosts: a trial bundle is committed only when it has painted
 * content AND reached the backend, within the loader's deadline. Painting alone is not
 * enough: a release that breaks networking would be committed, and after the commit only the
 * network could bring a fix. A bundle that only ever shows the splash or a maintenance code
 * is not proven to work either, and is rolled back.
 */
export function healthCriterionMet(e: HealthEvidence): boolean {
  return e.paintedContent && e.backendReached !== null;
}

export interface LoaderHealthGateOptions {
  /** Default: process.send (the loader's IPC channel). */
  send?: (msg: unknown) => boolean;
  logger?: Logger;
}

/**
 * Collects the evidence of one run and sends the health report once, the moment the
 * criterion is met. PanelCore feeds it (PanelCoreOptions.healthGate): every frame the
 * renderer reports, and every answer from the backend. Hosts only construct it.
 */
export class LoaderHealthGate {
  private readonly evidence: HealthEvidence = { paintedContent: false, backendReached: null };
  private sent = false;

  constructor(private readonly o: LoaderHealthGateOptions = {}) {}

  /** Whether the report went out (or was due, when there is no loader to send it to). */
  get reported(): boolean {
    return this.sent;
  }

  current(): Readonly<HealthEvidence> {
    return { ...this.evidence };
  }

  framePresented(frame: FramePresented): void {
    if (frame.kind !== 'content' || this.evidence.paintedContent) return;
    this.evidence.paintedContent = true;
    this.maybeReport();
  }

  backendReached(via: BackendReach): void {
    if (this.evidence.backendReached !== null) return;
    this.evidence.backendReached = via;
    this.maybeReport();
  }

  private maybeReport(): void {
    if (this.sent || !healthCriterionMet(this.evidence)) return;
    this.sent = true;
    const delivered = reportHealthyToLoader(this.o.send ?? process.send?.bind(process));
    this.o.logger?.info(delivered ? 'reported healthy to the loader' : 'healthy (no loader to tell)', { ...this.evidence });
  }
}

/** The loader's launch info, from the environment it sets. */
export function launchInfoFromEnv(env: NodeJS.ProcessEnv = process.env): { version: string | null; launch: string } {
  return { version: env.AIRPANEL_BUNDLE_VERSION ?? null, launch: env.AIRPANEL_LAUNCH ?? 'unsupervised' };
}
