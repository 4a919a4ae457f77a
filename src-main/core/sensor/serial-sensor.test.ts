import { afterEach, describe, expect, it } from 'vitest';
import type { PanelSensorReport, PollutantValues } from '@airpanel/contract';
import { systemMonotonicClock, systemWallClock, unrefScheduler } from '../clock.js';
import { encodePmsFrame, encodeSds011Frame } from './frames.js';
import { SensorHealthMonitor, type SensorHealthTuning } from './health.js';
import { openSerialPort } from './serial-port.js';
import { SerialParticulateSensor } from './serial-sensor.js';
import { startPtyPair } from './testing/pty-pair.js';

// Real pseudo-terminals (socat) and the real serialport binding: the driver opens the pty as
// it opens /dev/ttyUSB0 on a panel.

const logs: { level: string; message: string; meta?: Record<string, unknown> }[] = [];
const logger = {
  error: (message: string, meta?: Record<string, unknown>) => logs.push({ level: 'error', message, meta }),
  warn: (message: string, meta?: Record<string, unknown>) => logs.push({ level: 'warn', message, meta }),
  info: (message: string, meta?: Record<string, unknown>) => logs.push({ level: 'info', message, meta }),
  debug: () => undefined,
};

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  logs.length = 0;
});

function until<T>(check: () => T | undefined | null | false, timeoutMs = 8_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const tick = () => {
      const v = check();
      if (v) return resolve(v);
      if (Date.now() - started > timeoutMs) return reject(new Error('condition not met in time'));
      setTimeout(tick, 20);
    };
    tick();
  });
}

async function rig(kind: 'sds011' | 'pms5003', tuning: Partial<SensorHealthTuning> = {}) {
  const pty = await startPtyPair();
  const samples: PollutantValues[] = [];
  const reports: PanelSensorReport[] = [];
  const monitor = new SensorHealthMonitor({
    kind,
    tuning: { silenceMs: 60_000, stuckMs: 60_000, stuckMinSamples: 10, ...tuning },
    monotonicClock: systemMonotonicClock,
    wallClock: systemWallClock,
    scheduler: unrefScheduler,
    logger,
    onSample: (v) => samples.push(v),
    onReportChange: (r) => reports.push(r),
  });
  const sensor = new SerialParticulateSensor({
    kind,
    device: pty.device,
    open: openSerialPort,
    scheduler: unrefScheduler,
    logger,
    reopenDelayMs: 100,
  });
  sensor.start(monitor);
  cleanups.push(
    () => monitor.stop(),
    () => sensor.stop(),
    () => pty.unplug(),
  );
  await until(() => logs.some((l) => l.message === 'sensor device open'));
  return { pty, samples, reports, monitor, sensor };
}

describe('serial particulate sensors over a real pty', () => {
  it('SDS011: a frame stream with garbage, a checksum error and split frames gives exactly the good samples', async () => {
    const { pty, samples, monitor } = await rig('sds011');
    const bad = encodeSds011Frame({ pm25: 9, pm10: 9 });
    bad[8] = (bad[8]! ^ 0xff) & 0xff;
    const f1 = encodeSds011Frame({ pm25: 12.3, pm10: 20.4 });
    const f2 = encodeSds011Frame({ pm25: 13.1, pm10: 21 });
    await pty.write(Uint8Array.from([0x00, 0x17, 0xaa]));
    await pty.write(f1.subarray(0, 4));
    await new Promise((r) => setTimeout(r, 50));
    await pty.write(Uint8Array.from([...f1.subarray(4), ...bad, 0x42]));
    await pty.write(f2);
    await until(() => samples.length >= 2);
    expect(samples).toEqual([
      { pm25: 12.3, pm10: 20.4 },
      { pm25: 13.1, pm10: 21 },
    ]);
    expect(monitor.current()).toMatchObject({ kind: 'sds011', state: 'ok', code: null });
    expect(logs.some((l) => l.message === 'sensor data rejected')).toBe(true);
  });

  it('PMS5003: decodes the atmospheric values of a real frame stream', async () => {
    const { pty, samples } = await rig('pms5003');
    for (const v of [
      { pm25: 8, pm10: 11 },
      { pm25: 9, pm10: 12 },
      { pm25: 10, pm10: 14 },
    ])
      await pty.write(encodePmsFrame(v));
    await until(() => samples.length >= 3);
    expect(samples).toEqual([
      { pm25: 8, pm10: 11 },
      { pm25: 9, pm10: 12 },
      { pm25: 10, pm10: 14 },
    ]);
  });

  it('a device that disappears is SNS-1, and the driver keeps trying without crashing', async () => {
    const { pty, samples, reports, monitor } = await rig('sds011');
    await pty.write(encodeSds011Frame({ pm25: 5, pm10: 6 }));
    await until(() => samples.length >= 1);
    await pty.unplug();
    await until(() => monitor.current().code === 'SNS-1');
    expect(reports.at(-1)).toMatchObject({ state: 'faulty', code: 'SNS-1' });
    // Reopen attempts fail (the pty is gone) and keep the code, with the reason in the detail.
    await until(() => /cannot open/.test(monitor.current().detail ?? ''));
    expect(monitor.healthy).toBe(false);
  });

  it('a device that never opens is SNS-1 from the start', async () => {
    const reports: PanelSensorReport[] = [];
    const monitor = new SensorHealthMonitor({
      kind: 'sds011',
      tuning: { silenceMs: 60_000, stuckMs: 60_000, stuckMinSamples: 10 },
      monotonicClock: systemMonotonicClock,
      wallClock: systemWallClock,
      scheduler: unrefScheduler,
      logger,
      onSample: () => undefined,
      onReportChange: (r) => reports.push(r),
    });
    const sensor = new SerialParticulateSensor({
      kind: 'sds011',
      device: '/dev/ttyAirpanelNone',
      open: openSerialPort,
      scheduler: unrefScheduler,
      logger,
      reopenDelayMs: 100,
    });
    sensor.start(monitor);
    cleanups.push(
      () => monitor.stop(),
      () => sensor.stop(),
    );
    await until(() => reports.length > 0);
    expect(reports[0]).toMatchObject({ state: 'faulty', code: 'SNS-1' });
    expect(reports[0]!.detail).toMatch(/ttyAirpanelNone/);
  });

  it('a silent sensor is SNS-2; one that only sends garbage is SNS-3; a good frame ends both', async () => {
    const { pty, monitor, samples } = await rig('sds011', { silenceMs: 400 });
    await until(() => monitor.current().code === 'SNS-2');
    const bad = encodeSds011Frame({ pm25: 9, pm10: 9 });
    bad[8] = (bad[8]! + 3) & 0xff;
    const feeding = setInterval(() => void pty.write(bad), 50);
    cleanups.push(() => clearInterval(feeding));
    await until(() => monitor.current().code === 'SNS-3');
    expect(monitor.current().detail).toMatch(/checksum|outside any frame/);
    expect(logs.some((l) => l.message === 'sensor data rejected' && /checksum/.test(String(l.meta?.detail)))).toBe(true);
    clearInterval(feeding);
    await pty.write(encodeSds011Frame({ pm25: 4, pm10: 5 }));
    await until(() => monitor.current().state === 'ok');
    expect(samples).toEqual([{ pm25: 4, pm10: 5 }]);
  });

  it('a stuck value is SNS-4 and its samples stop counting; a change ends it', async () => {
    const { pty, monitor, samples } = await rig('sds011', { stuckMs: 300, stuckMinSamples: 5 });
    const same = encodeSds011Frame({ pm25: 17.7, pm10: 20 });
    for (let i = 0; i < 12 && monitor.current().code !== 'SNS-4'; i++) {
      await pty.write(same);
      await new Promise((r) => setTimeout(r, 60));
    }
    await until(() => monitor.current().code === 'SNS-4');
    const counted = samples.length;
    await pty.write(same);
    await new Promise((r) => setTimeout(r, 100));
    expect(samples.length).toBe(counted);
    await pty.write(encodeSds011Frame({ pm25: 17.8, pm10: 20 }));
    await until(() => monitor.current().state === 'ok');
    expect(samples.at(-1)).toEqual({ pm25: 17.8, pm10: 20 });
  });
});
