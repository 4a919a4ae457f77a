import type { CommandAck, PanelEvent, PanelReading, StatusMessage } from '@airpanel/contract';
import type { Clock } from '../clock.js';
import type { CommandStore } from '../commands/store.js';
import type { Logger } from '../logger.js';
import type { PanelMessageSink } from '../mqtt/gateway.js';
import type { PanelReportQueue } from './report-queue.js';
import type { StatusStore } from './store.js';

export interface PanelMessageRecorderOptions {
  isKnownPanel(panelId: string): boolean;
  queue: PanelReportQueue;
  status: StatusStore;
  commands: CommandStore;
  clock: Clock;
  logger: Logger;
}

/**
 * Where the MQTT gateways hand what panels say (validated already): statuses, state
 * transitions and command acks go through the batched report queue; a reading of the panel's
 * own sensor is written at once by the panel-readings module.
 */
export class PanelMessageRecorder implements PanelMessageSink {
  /** Set by createBackend: the panel-readings module (server-stub/src/panel-readings). */
  onPanelReading: ((panelId: string, reading: PanelReading) => void) | null = null;
  /** Set by createBackend: told of each ack once it is recorded (the live event stream). */
  onCommandAck: ((ack: CommandAck) => void) | null = null;

  constructor(private readonly o: PanelMessageRecorderOptions) {}

  private nowIso(): string {
    return new Date(this.o.clock.now()).toISOString();
  }

  onStatus(panelId: string, message: StatusMessage): void {
    if (!this.o.isKnownPanel(panelId)) {
      this.o.logger.warn('status from an unknown panel ignored', { panelId });
      return;
    }
    const receivedAt = this.nowIso();
    this.o.queue.queue(panelId, () => this.o.status.recordStatus(panelId, message, receivedAt));
  }

  onEvent(panelId: string, event: PanelEvent): void {
    const { logger } = this.o;
    if (!this.o.isKnownPanel(panelId)) {
      logger.warn('event from an unknown panel ignored', { panelId });
      return;
    }
    if (event.type === 'command-ack') {
      const owner = this.o.commands.commandPanelId(event.ack.commandId);
      if (owner !== panelId) {
        logger.warn('ack for an unknown command ignored', { panelId, commandId: event.ack.commandId });
        return;
      }
      this.o.queue.queue(panelId, () => {
        this.o.commands.insertAck(event.ack);
        this.onCommandAck?.(event.ack);
      });
      logger.info('command acknowledged', { panelId, commandId: event.ack.commandId, status: event.ack.status });
      return;
    }
    if (event.type === 'sensor-reading') {
      // Written at once, not batched: the broker acknowledges the reading to the panel (which
      // then forgets it) only after this returns.
      if (this.onPanelReading) this.onPanelReading(panelId, event.reading);
      else logger.warn('panel reading dropped: no panel-readings module', { panelId });
      return;
    }
    if (event.type === 'level-disagreement') {
      logger.warn('panel decided another level on its own', {
        panelId,
        ownLevel: event.ownLevel,
        backendLevel: event.backendLevel,
        backendRevision: event.backendRevision,
      });
      return;
    }
    const at = this.nowIso();
    this.o.queue.queue(panelId, () => this.o.status.recordStateTransition(panelId, event.to, event.reason, at));
    logger.info('panel state transition', { panelId, from: event.from, to: event.to, reason: event.reason });
  }
}
