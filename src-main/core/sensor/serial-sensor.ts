import type { SerialSensorKind } from '@airpanel/contract';
import type { Scheduler, TimerHandle } from '../clock.js';
import type { Logger } from '@airpanel/node-support/logger';
import type { SensorDriver, SensorSink } from './driver.js';
import { createPmsDecoder, createSds011Decoder, type DecodeEvent, type FrameDecoder } from './frames.js';

/** The few things the driver needs from an open serial port (serialport's SerialPort fits). */
export interface SerialConnection {
  on(event: 'data', listener: (chunk: Buffer) => void): unknown;
  on(event: 'close', listener: (err?: Error | null) => void): unknown;
  on(event: 'error', listener: (err: Error) => void): unknown;
  close(callback?: (err?: Error | null) => void): unknown;
  readonly isOpen: boolean;
}

/** Opens `path` at `baudRate` 8N1; rejects when the device cannot be opened. */
export type SerialOpener = (path: string, baudRate: number) => Promise<SerialConnection>;

export interface SerialSensorOptions {
  kind: SerialSensorKind;
  device: string;
  open: SerialOpener;
  scheduler: Scheduler;
  logger: Logger;
  /** Wait before reopening a device that vanished or could not be opened. */
  reopenDelayMs?: number;
}

/** Both sensor families talk 9600 baud, 8 data bits, no parity, one stop bit. */
export const SENSOR_BAUD_RATE = 9600;

/**
 * Reads an SDS011 or a PMS5003/7003 from a serial device in its default active mode (the
 * sensor streams a frame every second or so; nothing is written to it). A device that cannot
 * be opened or disappears (USB adapter unplugged) is reopened every `reopenDelayMs`.
 */
export class SerialParticulateSensor implements SensorDriver {
  readonly kind: SerialSensorKind;
  private connection: SerialConnection | null = null;
  private reopenTimer: TimerHandle | null = null;
  private stopped = false;
  private sink: SensorSink | null = null;
  private decoder: FrameDecoder;

  constructor(private readonly o: SerialSensorOptions) {
    this.kind = o.kind;
    this.decoder = this.newDecoder();
  }

  private newDecoder(): FrameDecoder {
    return this.o.kind === 'sds011' ? createSds011Decoder() : createPmsDecoder();
  }

  start(sink: SensorSink): void {
    this.sink = sink;
    void this.open();
  }

  private async open(): Promise<void> {
    if (this.stopped || !this.sink) return;
    const sink = this.sink;
    let connection: SerialConnection;
    try {
      connection = await this.o.open(this.o.device, SENSOR_BAUD_RATE);
    } catch (err) {
      sink.unreachable(`cannot open ${this.o.device}: ${(err as Error).message}`);
      this.scheduleReopen();
      return;
    }
    if (this.stopped) {
      connection.close();
      return;
    }
    this.connection = connection;
    this.decoder = this.newDecoder(); // a half frame from before belongs to nothing now
    this.o.logger.info('sensor device open', { kind: this.kind, device: this.o.device });
    sink.reachable();
    connection.on('data', (chunk) => this.onData(chunk));
    connection.on('error', (err) => this.o.logger.warn('sensor device error', { device: this.o.device, error: err.message }));
    connection.on('close', (err) => {
      if (this.connection !== connection) return;
      this.connection = null;
      if (this.stopped) return;
      sink.unreachable(`${this.o.device} closed${err ? `: ${err.message}` : ''}`);
      this.scheduleReopen();
    });
  }

  private onData(chunk: Buffer): void {
    const sink = this.sink;
    if (!sink) return;
    for (const event of this.decoder.push(chunk)) this.report(sink, event);
  }

  private report(sink: SensorSink, event: DecodeEvent): void {
    switch (event.kind) {
      case 'sample':
        sink.sample({ pm25: event.sample.pm25, pm10: event.sample.pm10 });
        return;
      case 'checksum-error':
        sink.invalid('frame checksum mismatch');
        return;
      case 'implausible':
        sink.invalid(`implausible frame: ${event.reason}`);
        return;
      case 'garbage':
        sink.invalid(`${event.bytes} byte(s) outside any frame`);
        return;
    }
  }

  private scheduleReopen(): void {
    if (this.stopped || this.reopenTimer) return;
    this.reopenTimer = this.o.scheduler.setTimeout(() => {
      this.reopenTimer = null;
      void this.open();
    }, this.o.reopenDelayMs ?? 5_000);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.reopenTimer) this.o.scheduler.clearTimeout(this.reopenTimer);
    this.reopenTimer = null;
    const c = this.connection;
    this.connection = null;
    if (c?.isOpen) await new Promise<void>((resolve) => c.close(() => resolve()));
  }
}
