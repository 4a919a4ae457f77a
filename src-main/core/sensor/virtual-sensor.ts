import type { PanelSensorKind, PollutantValues } from '@airpanel/contract';
import type { Scheduler, TimerHandle } from '../clock.js';
import type { SensorDriver, SensorSink } from './driver.js';

/**
 * A sensor the developer simulator sets by hand (its "own sensor" control): it streams the
 * values it was given once a second, as a serial sensor streams frames, and nothing while
 * set to null (a silent sensor). Values wobble by ±0.1 µg/m³ as a real sensor's do, so a value
 * held for half an hour is not judged stuck.
 */
export class VirtualSensor implements SensorDriver {
  private values: PollutantValues | null = null;
  private timer: TimerHandle | null = null;
  private sink: SensorSink | null = null;
  private tick = 0;

  constructor(
    readonly kind: PanelSensorKind,
    private readonly scheduler: Scheduler,
    private readonly everyMs = 1_000,
  ) {}

  /** The values to stream from now on; null = the sensor goes silent. */
  set(values: PollutantValues | null): void {
    this.values = values;
  }

  get current(): PollutantValues | null {
    return this.values;
  }

  start(sink: SensorSink): void {
    this.sink = sink;
    sink.reachable();
    this.schedule();
  }

  private schedule(): void {
    this.timer = this.scheduler.setTimeout(() => {
      this.timer = null;
      if (this.values && this.sink) {
        this.tick++;
        const wobble = this.tick % 2 === 0 ? 0.1 : 0;
        const sample: PollutantValues = {};
        for (const [k, v] of Object.entries(this.values) as [keyof PollutantValues, number][])
          sample[k] = Math.round((v + wobble) * 10) / 10;
        this.sink.sample(sample);
      }
      if (this.sink) this.schedule();
    }, this.everyMs);
  }

  async stop(): Promise<void> {
    this.sink = null;
    if (this.timer) this.scheduler.clearTimeout(this.timer);
    this.timer = null;
  }
}
