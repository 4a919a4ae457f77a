// Test support for the panel's own sensor: a panel process (test/faults/support/panel-runner.ts
// under tsx) reading an SDS011 through a real socat pty pair the test feeds, and the backend's
// record of what arrived.
import { type ChildProcess, spawn } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import got from 'got';
import type { PanelReading, PanelRegistration } from '@airpanel/contract';
import { panelConfigFromRegistration } from '@airpanel/contract';
import type { CoreTuning } from '../../src-main/core/panel-core.js';
import { encodeSds011Frame } from '../../src-main/core/sensor/frames.js';
import { startPtyPair, type PtyPair } from '../../src-main/core/sensor/testing/pty-pair.js';
import { writePanelJson } from '../../src-main/core/testing/fixtures.js';
import { FAST_TUNING } from '../faults/support/stack.js';

const repo = join(import.meta.dirname, '..', '..');

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

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.pty.unplug();
  }
}

export async function writeSensorPanelJson(dataDir: string, registration: PanelRegistration, device: string): Promise<void> {
  await writePanelJson(dataDir, { ...panelConfigFromRegistration(registration), sensor: { kind: 'sds011', device } });
}

/** The panel as a process that a test can SIGKILL (a power cut) and start again. */
export class PanelProcess {
  private child: ChildProcess | null = null;
  output = '';
  constructor(private readonly dataDir: string, private readonly tuning: Partial<CoreTuning> = SENSOR_TUNING) {}

  async start(): Promise<void> {
    const child = spawn(process.execPath, ['--import', 'tsx', join(repo, 'test/faults/support/panel-runner.ts'), '--data-dir', this.dataDir], {
      cwd: repo,
      env: { ...process.env, AIRPANEL_TEST_TUNING: JSON.stringify(this.tuning) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    const keep = (chunk: Buffer) => {
      this.output = (this.output + chunk.toString('utf8')).slice(-20_000);
    };
    child.stderr?.on('data', keep);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`panel did not start:\n${this.output}`)), 30_000);
      child.stdout?.on('data', (chunk: Buffer) => {
        keep(chunk);
        if (this.output.includes('"type":"started"')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`panel exited during start (${code ?? signal}):\n${this.output}`));
      });
    });
    child.removeAllListeners('exit');
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.child;
    this.child = null;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill(signal);
    const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(killer);
  }

  /** Readings in the panel's on-disk queue. */
  async queued(): Promise<number> {
    const names = await readdir(join(this.dataDir, 'sensor-queue')).catch(() => []);
    return names.filter((n) => /^r-\d+\.json$/.test(n)).length;
  }
}

export interface ReceivedReading {
  reading: PanelReading;
  receivedAt: string;
}

/** Every reading the backend recorded for the panel, in seq order (paged). */
export async function backendReadings(apiBase: string, adminToken: string, panelId: string): Promise<ReceivedReading[]> {
  const all: ReceivedReading[] = [];
  let afterSeq = 0;
  for (;;) {
    const page = await got(`${apiBase}/api/v1/panels/${panelId}/sensor-readings`, {
      searchParams: { afterSeq, limit: 5_000 },
      headers: { authorization: `Bearer ${adminToken}` },
      timeout: { request: 5_000 },
      retry: { limit: 0 },
    }).json<ReceivedReading[]>();
    all.push(...page);
    if (page.length < 5_000) return all;
    afterSeq = page.at(-1)!.reading.seq;
  }
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
