import type { PollOutcome } from './display-poller.js';
import type { Logger } from '@airpanel/node-support/logger';

export interface PollOutcomePolicyOptions {
  logger: Logger;
  /** The backend answered (a document, 304 or 404): the OTA health gate counts it. */
  backendReached: () => void;
  /** A body within the size cap, still to be judged (document-gate.ts). */
  document: (body: Buffer) => void;
  /** 304: the revision on screen is still current. */
  notModified: () => void;
  /** The backend refused the poll: what the status's `lastError` says. */
  refused: (lastError: string) => void;
}

/**
 * What the core does with each poll's answer. A poll repeats every period while MQTT is
 * down, so an answer the same as the last one (404, HTTP error, network error) is not logged
 * again: the log shows changes, not every attempt.
 */
export class PollOutcomePolicy {
  private readonly o: PollOutcomePolicyOptions;
  private lastKind: PollOutcome['kind'] | null = null;

  constructor(options: PollOutcomePolicyOptions) {
    this.o = options;
  }

  handle(outcome: PollOutcome): void {
    const repeated = this.lastKind === outcome.kind;
    this.lastKind = outcome.kind;
    if (outcome.kind === 'document' || outcome.kind === 'not-modified' || outcome.kind === 'none') this.o.backendReached();
    switch (outcome.kind) {
      case 'document':
        this.o.document(outcome.body);
        return;
      case 'not-modified':
        this.o.notModified();
        return;
      case 'none':
        if (!repeated) this.o.logger.info('backend has no document for this panel yet (404)');
        return;
      case 'oversized':
        this.o.logger.warn('document rejected', { source: 'http', reason: `oversized: ${outcome.bytes} bytes` });
        return;
      case 'http-error':
        this.o.refused(`poll: HTTP ${outcome.status}`);
        if (!repeated) this.o.logger.warn('poll refused', { status: outcome.status });
        return;
      case 'network-error':
        // Expected while the backend is unreachable.
        if (!repeated) this.o.logger.info('poll failed', { error: outcome.message });
        return;
    }
  }
}
