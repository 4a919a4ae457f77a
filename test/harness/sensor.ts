// The panel's own sensor in tests: an SDS011 on a real socat pty pair the test feeds, the
// tunings that make a few seconds of outage queue a dozen readings, the panel's on-disk queue,
// and what is wrong with a run of readings the backend received.
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { CoreTuning } from '@airpanel/panel/core/panel-core';
import { encodeSds011Frame } from '@airpanel/panel/core/sensor/frames';
import { startPtyPair, type PtyPair } from '@airpanel/panel/core/sensor/testing/pty-pair';
import type { ReceivedReading } from './admin.js';
import { FAST_TUNING } from './panel.js';

/** Readings every 200 ms so a few seconds of outage queue a dozen of them. */
export const SENSOR_TUNING: Partial<CoreTuning> = {
  ...FAST_TUNING,
  ownSensor: {
    readingIntervalMs: 200,
    publishTimeoutMs: 2_000,
    reopenDelayMs: 100,
    confirmIntervalMs: 500,
    health: { silenceMs: 5_000, stuckMs: 600_000, stuckMinSamples: 10 },
  },
};

/** An SDS011 on a pty, streaming a frame every `everyMs` with slowly changing values. */
export class FakeSds011 {
  private timer: NodeJS.Timeout | null = null;
  private n = 0;
  pm25 = 8;
  constructor(readonly pty: PtyPair) {}

  static async start(everyMs = 50): Promise<FakeSds011> {
    const sensor = new FakeSds011(await startPtyPair());
    sensor.timer = setInterval(() => {
      sensor.n++;
      const pm25 = sensor.pm25 + (sensor.n % 5) / 10; // real sensors wobble; a frozen value is SNS-4
      void sensor.pty.write(encodeSds011Frame({ pm25, pm10: pm25 * 1.5 })).catch(() => undefined);
    }, everyMs);
    return sensor;
  }

  /** The panel.json entry of a panel reading this sensor. */
  get panelJson(): { sensor: { kind: 'sds011'; device: string } } {
    return { sensor: { kind: 'sds011', device: this.pty.device } };
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.pty.unplug();
  }
}

/** Readings in a panel's on-disk queue. */
export async function queuedReadings(panelDataDir: string): Promise<number> {
  const names = await readdir(join(panelDataDir, 'sensor-queue')).catch(() => []);
  return names.filter((n) => /^r-\d+\.json$/.test(n)).length;
}

/**
 * What is wrong with a run of received readings, or [] when nothing is: a gap or a duplicate
 * in `seq` (a reading lost or counted twice) and, with `receivedInOrder`, one received
 * before an earlier one. A broker that acknowledges a reading and then loses it makes the
 * panel send that one again later, so only the embedded broker (which acknowledges after the
 * backend recorded) promises the order of arrival; the order taken is `seq` either way.
 */
export function readingProblems(received: ReceivedReading[], { receivedInOrder = true } = {}): string[] {
  const problems: string[] = [];
  const ids = new Set<string>();
  for (let i = 0; i < received.length; i++) {
    const r = received[i]!.reading;
    if (ids.has(r.id)) problems.push(`reading ${r.id} (seq ${r.seq}) recorded twice`);
    ids.add(r.id);
    if (r.seq !== i + 1) problems.push(`expected seq ${i + 1} at position ${i}, got ${r.seq} (a reading lost or duplicated)`);
    if (receivedInOrder && i > 0 && Date.parse(received[i]!.receivedAt) < Date.parse(received[i - 1]!.receivedAt)) {
      problems.push(`seq ${r.seq} received before seq ${received[i - 1]!.reading.seq} (out of order)`);
    }
  }
  return problems;
}
