import type { PanelSensorKind, PollutantValues } from '@airpanel/contract';

/**
 * What a sensor driver reports. Drivers only read and decode; judging the sensor (silent,
 * stuck, faulty) is the health monitor's job, so every driver is judged by the same rules.
 */
export interface SensorSink {
  /** A validated sample (µg/m³). */
  sample(values: PollutantValues): void;
  /** The device answered the open / the node answered a request. */
  reachable(): void;
  /** The device cannot be opened, vanished, or the node does not answer. */
  unreachable(detail: string): void;
  /** Bytes or an answer that did not validate (checksum, garbage, implausible, bad JSON). */
  invalid(detail: string): void;
}

/** One sensor driver per kind, one interface. */
export interface SensorDriver {
  readonly kind: PanelSensorKind;
  /** Starts reading; never throws (problems go to the sink). */
  start(sink: SensorSink): void;
  /** Stops reading, closes the device or cancels the request. Safe twice. */
  stop(): Promise<void>;
}
