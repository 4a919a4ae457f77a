import { randomUUID } from 'node:crypto';
import { Command, type CommandBody, type CommandRecord, type Panel } from '@airpanel/contract';
import type { Clock } from '../clock.js';
import { ServiceError, notFound } from '../errors.js';
import type { Logger } from '../logger.js';
import type { BackendMetrics } from '../metrics.js';
import type { MqttGateway } from '../mqtt/gateway.js';
import type { PanelReportQueue } from '../status/report-queue.js';
import type { CommandStore } from './store.js';

export interface CommandServiceOptions {
  commands: CommandStore;
  panels: { require(panelId: string): Panel };
  /** Acks arrive through it: flushed before commands are read. */
  reports: PanelReportQueue;
  gateway(): MqttGateway;
  clock: Clock;
  logger: Logger;
  metrics: BackendMetrics;
  /** A command not delivered within this long is void (the panel ignores it). */
  commandTtlSeconds: number;
}

/** Commands to panels: recorded, then published over MQTT; their acks show up on them. */
export class CommandService {
  constructor(private readonly o: CommandServiceOptions) {}

  async send(panelId: string, body: CommandBody): Promise<CommandRecord> {
    this.o.panels.require(panelId);
    const now = this.o.clock.now();
    const command = Command.parse({
      id: randomUUID(),
      panelId,
      kind: body.kind,
      issuedAt: new Date(now).toISOString(),
      expiresAt: new Date(now + this.o.commandTtlSeconds * 1000).toISOString(),
    });
    this.o.commands.insert(command);
    this.o.logger.info('command issued', { panelId, commandId: command.id, kind: command.kind });
    try {
      await this.o.gateway().publishCommand(command);
    } catch (error) {
      this.o.metrics.publishFailures.inc();
      throw new ServiceError(
        'unavailable',
        'mqtt-unavailable',
        `the command was recorded but the MQTT broker did not take it: ${(error as Error).message}`,
        { commandId: command.id },
      );
    }
    return { ...command, acks: [] };
  }

  list(panelId: string, limit: number): CommandRecord[] {
    this.o.panels.require(panelId);
    this.o.reports.flush();
    return this.o.commands.list(panelId, limit);
  }

  get(panelId: string, commandId: string): CommandRecord {
    this.o.panels.require(panelId);
    this.o.reports.flush();
    const record = this.o.commands.get(panelId, commandId);
    if (!record) throw notFound('command', commandId);
    return record;
  }
}
