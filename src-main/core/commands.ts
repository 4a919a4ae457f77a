import type { Got } from 'got';
import { Command, type CommandAck, type CommandAckStatus, type UpdateReport } from '@airpanel/contract';
import { ApiCallError } from '@airpanel/contract/api';
import { panelApiClient } from './backend-api.js';
import type { WallClock } from './clock.js';
import type { HostActions } from './host.js';
import type { Logger } from '@airpanel/node-support/logger';

/**
 * The hook behind the `check-update` command. The OTA updater implements it; it resolves
 * with a one-line outcome ("up to date", "1.4.0 downloading") and rejects on failure.
 */
export interface UpdateChecker {
  checkNow(): Promise<string>;
  /** The updater's latest report, published as `PanelStatus.update` (absent → null). */
  getReport?(): UpdateReport;
  /** Called on every report change; returns an unsubscribe function. */
  onReport?(listener: (report: UpdateReport) => void): () => void;
}

export interface CommandProcessorOptions {
  panelId: string;
  apiBaseUrl: string;
  apiKey: string;
  http: Got;
  httpTimeoutMs: number;
  wallClock: WallClock;
  hostActions: HostActions;
  updateChecker: UpdateChecker | null;
  logger: Logger;
  /** Publishes an ack on the events topic; resolves false if it could not be sent. */
  publishAck: (ack: CommandAck) => Promise<boolean>;
}

/** Ids remembered for de-duplication (QoS 1 may redeliver); a small ring, not a growing set. */
const REMEMBERED_COMMAND_IDS = 32;

/**
 * Runs commands from the backend: validate, refuse other panels' and expired ones (acked
 * `rejected`, so the backoffice sees why), de-duplicate by id (a redelivery is not acked
 * again), ack `accepted` at once, then `done` or `failed`.
 */
export class CommandProcessor {
  private readonly recentIds: string[] = [];
  private readonly options: CommandProcessorOptions;

  constructor(options: CommandProcessorOptions) {
    this.options = options;
  }

  async handle(payload: Buffer): Promise<void> {
    const o = this.options;
    let raw: unknown;
    try {
      raw = JSON.parse(payload.toString('utf8'));
    } catch {
      o.logger.warn('command rejected: not JSON', { bytes: payload.byteLength });
      return;
    }
    const parsed = Command.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const detail = `invalid command: ${issue ? `${issue.path.join('.') || '(root)'}: ${issue.message}` : 'unknown'}`;
      o.logger.warn('command rejected', { detail });
      const id = Command.shape.id.safeParse((raw as { id?: unknown } | null)?.id);
      if (id.success) await this.ack(id.data, 'rejected', detail);
      return;
    }
    const command = parsed.data;
    if (this.recentIds.includes(command.id)) {
      o.logger.info('duplicate command ignored', { commandId: command.id, kind: command.kind });
      return;
    }
    this.recentIds.push(command.id);
    if (this.recentIds.length > REMEMBERED_COMMAND_IDS) this.recentIds.shift();
    if (command.panelId !== o.panelId) {
      o.logger.warn('command for another panel rejected', { commandId: command.id, commandPanelId: command.panelId });
      await this.ack(command.id, 'rejected', `command is for panel ${command.panelId}`);
      return;
    }
    if (Date.parse(command.expiresAt) <= o.wallClock.now()) {
      o.logger.warn('expired command ignored', { commandId: command.id, kind: command.kind, expiresAt: command.expiresAt });
      await this.ack(command.id, 'rejected', `expired at ${command.expiresAt}`);
      return;
    }
    if (command.kind === 'check-update' && !o.updateChecker) {
      o.logger.warn('check-update rejected: no updater', { commandId: command.id });
      await this.ack(command.id, 'rejected', 'no updater in this build: check-update is not available');
      return;
    }
    o.logger.info('command received', { commandId: command.id, kind: command.kind });
    await this.ack(command.id, 'accepted', null);
    await this.execute(command);
  }

  private async execute(command: Command): Promise<void> {
    const o = this.options;
    try {
      switch (command.kind) {
        case 'reload':
          await o.hostActions.reloadRenderer();
          await this.ack(command.id, 'done', 'renderer reloaded');
          return;
        case 'restart':
          // Acked before acting: after the restart there is nobody left to say so.
          await this.ack(command.id, 'done', 'restarting');
          await o.hostActions.restartApp();
          return;
        case 'check-update': {
          // Refused before 'accepted' in handle(); kept so the type needs no assertion.
          if (!o.updateChecker) throw new Error('no updater');
          const outcome = await o.updateChecker.checkNow();
          await this.ack(command.id, 'done', outcome);
          return;
        }
        case 'screenshot': {
          const png = await o.hostActions.captureScreenshot();
          if (!png) {
            await this.ack(command.id, 'failed', 'no renderer to capture');
            return;
          }
          const status = await this.uploadScreenshot(png);
          if (status >= 200 && status < 300) await this.ack(command.id, 'done', `uploaded ${png.byteLength} bytes`);
          else await this.ack(command.id, 'failed', `screenshot upload failed: HTTP ${status}`);
          return;
        }
      }
    } catch (err) {
      o.logger.error('command failed', { commandId: command.id, kind: command.kind, error: String(err) });
      await this.ack(command.id, 'failed', String((err as Error).message ?? err));
    }
  }

  /** `uploadScreenshot` through the panel's typed client: the answer's status. */
  private async uploadScreenshot(png: Uint8Array): Promise<number> {
    const o = this.options;
    const api = panelApiClient({ apiBaseUrl: o.apiBaseUrl, apiKey: o.apiKey, http: o.http, timeoutMs: o.httpTimeoutMs });
    try {
      return (await api.send('uploadScreenshot', { params: { panelId: o.panelId }, body: png })).status;
    } catch (error) {
      if (error instanceof ApiCallError && error.status !== null) return error.status;
      throw error;
    }
  }

  private async ack(commandId: string, status: CommandAckStatus, detail: string | null): Promise<void> {
    const ack: CommandAck = {
      commandId,
      panelId: this.options.panelId,
      status,
      detail: detail === null ? null : detail.slice(0, 1000),
      at: new Date(this.options.wallClock.now()).toISOString(),
    };
    const sent = await this.options.publishAck(ack);
    if (!sent) this.options.logger.warn('command ack not sent (mqtt down)', { commandId, status });
  }
}
