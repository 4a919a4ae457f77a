import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LastStart } from '@airpanel/contract';
import {
  activatedSlotOf,
  bootedSlotOf,
  decideLastStart,
  recordStart,
  type StartFacts,
  type StartRecord,
  type StopRecord,
} from './restart-reason.js';

const AT = '2026-12-02T15:00:00.000Z';
const quietLog = { error: () => undefined, warn: () => undefined, info: () => undefined, debug: () => undefined };
const prev: StartRecord = { bootId: 'boot-1', invocationId: 'run-1', version: '0.1.0', bootedSlot: 'A', at: '2026-12-02T14:00:00.000Z' };
const stop = (serviceResult: string, exitCode = '', exitStatus = '', over: Partial<StopRecord> = {}): StopRecord => ({
  bootId: 'boot-1',
  invocationId: 'run-1',
  serviceResult,
  exitCode,
  exitStatus,
  at: '2026-12-02T14:59:00Z',
  ...over,
});
const facts = (over: Partial<StartFacts>): StartFacts => ({
  bootId: 'boot-1',
  invocationId: 'run-2',
  previousExit: null,
  version: '0.1.0',
  bootedSlot: 'A',
  activatedSlot: null,
  previous: prev,
  lastStop: null,
  ...over,
});
const reason = (over: Partial<StartFacts>) => {
  const r = decideLastStart(facts(over), AT);
  LastStart.parse(r);
  return [r.reason, r.detail];
};

describe('decideLastStart', () => {
  it('no earlier start: first start', () => {
    expect(reason({ previous: null })).toEqual(['first-start', null]);
  });

  it('same boot, systemd started the unit again: its stop record says why', () => {
    expect(reason({ lastStop: stop('signal', 'killed', 'KILL') })).toEqual(['killed', 'signal: killed KILL']);
    expect(reason({ lastStop: stop('watchdog', 'killed', 'ABRT') })).toEqual(['watchdog', 'watchdog: killed ABRT']);
    expect(reason({ lastStop: stop('exit-code', 'exited', '1') })).toEqual(['crash', 'exit-code: exited 1']);
    expect(reason({ lastStop: stop('core-dump', 'dumped', 'SEGV') })[0]).toBe('crash');
    expect(reason({ lastStop: stop('timeout', 'killed', 'TERM') })[0]).toBe('start-timeout');
    expect(reason({ lastStop: stop('success', 'exited', '0') })[0]).toBe('stopped');
    expect(reason({ lastStop: stop('oom-kill', 'killed', 'KILL') })[0]).toBe('unknown');
  });

  it("a stop record of another run or boot is not this restart's", () => {
    expect(reason({ lastStop: stop('watchdog', 'killed', 'ABRT', { invocationId: 'run-0' }) })).toEqual(['unknown', null]);
    expect(reason({ lastStop: stop('watchdog', 'killed', 'ABRT', { bootId: 'boot-0' }) })[0]).toBe('unknown');
  });

  it('same run: the loader relaunched the app, and says how the previous launch ended', () => {
    expect(reason({ invocationId: 'run-1', previousExit: 'exited: code 75, signal null' })).toEqual([
      'app-restart',
      'restart requested (exit 75)',
    ]);
    expect(reason({ invocationId: 'run-1', previousExit: 'exited: code 1, signal null' })).toEqual([
      'app-exit',
      'exited: code 1, signal null',
    ]);
    expect(reason({ invocationId: 'run-1', previousExit: 'exited: code 75, signal null', version: '0.2.0' })).toEqual([
      'app-update',
      '0.1.0 → 0.2.0 (exited: code 75, signal null)',
    ]);
    expect(reason({ invocationId: 'run-1', previousExit: 'rolled-back-crash: code 3, signal null', version: '0.0.9' })[0]).toBe(
      'app-rollback',
    );
    // The trial crashed before it recorded its start: the same version as the last record, still a rollback.
    expect(reason({ invocationId: 'run-1', previousExit: 'rolled-back-crash: code 1, signal null' })).toEqual([
      'app-rollback',
      'rolled-back-crash: code 1, signal null',
    ]);
  });

  it('a new boot: reboot when the previous run was stopped, power loss when it never was', () => {
    expect(reason({ bootId: 'boot-2', lastStop: stop('success', 'exited', '0') })).toEqual(['reboot', null]);
    expect(reason({ bootId: 'boot-2', lastStop: stop('success', 'exited', '0', { bootId: 'boot-0', invocationId: 'run-0' }) })[0]).toBe(
      'power-loss',
    );
    expect(reason({ bootId: 'boot-2' })).toEqual(['power-loss', 'the previous boot ended without the app being stopped']);
  });

  it('a new boot into the other slot: an OS update when that slot was activated, a fall-back when the activated one did not boot', () => {
    expect(reason({ bootId: 'boot-2', bootedSlot: 'B', activatedSlot: 'B', version: '0.1.1' })).toEqual([
      'os-update',
      'slot A (0.1.0) → slot B (0.1.1)',
    ]);
    expect(reason({ bootId: 'boot-2', bootedSlot: 'A', activatedSlot: 'B' })).toEqual([
      'slot-fallback',
      'slot B was activated but slot A booted',
    ]);
    // The failed slot's app did start (and recorded it) before the bootloader gave up on it.
    expect(
      reason({ bootId: 'boot-3', bootedSlot: 'A', activatedSlot: 'B', previous: { ...prev, bootId: 'boot-2', bootedSlot: 'B' } })[0],
    ).toBe('slot-fallback');
  });
});

describe('slots', () => {
  it('reads the booted slot from the kernel command line', () => {
    expect(bootedSlotOf('BOOT_IMAGE=/boot/bzImage root=PARTUUID=x rauc.slot=B ro quiet\n')).toBe('B');
    expect(bootedSlotOf('root=/dev/sda1 ro')).toBeNull();
    expect(bootedSlotOf('xrauc.slot=B')).toBeNull();
  });

  it('the activated slot is the one with the latest activated.timestamp, by its bootname', () => {
    const conf =
      '[system]\ncompatible=airpanel-x86_64\n\n[slot.rootfs.0]\ndevice=/dev/a\nbootname=A\n\n[slot.rootfs.1]\ndevice=/dev/b\nbootname=B\n';
    const status =
      '[slot.rootfs.0]\nbundle.version=0.1.0\nactivated.timestamp=2026-12-01T10:00:00Z\n\n[slot.rootfs.1]\nbundle.version=0.1.1\nactivated.timestamp=2026-12-02T10:00:00Z\nactivated.count=1\n';
    expect(activatedSlotOf(conf, status)).toBe('B');
    expect(activatedSlotOf(conf, status.replace('2026-12-01', '2026-12-03'))).toBe('A');
    expect(activatedSlotOf(conf, '[slot.rootfs.1]\ninstalled.timestamp=2026-12-02T10:00:00Z\n')).toBeNull();
    expect(activatedSlotOf('', status)).toBeNull();
  });
});

describe('recordStart (files in a temp dir)', () => {
  let dir: string;
  const paths = () => ({
    bootId: join(dir, 'boot_id'),
    cmdline: join(dir, 'cmdline'),
    raucSystemConf: join(dir, 'system.conf'),
    raucStatus: join(dir, 'central.raucs'),
  });
  const start = (env: NodeJS.ProcessEnv, now = Date.parse(AT)) =>
    recordStart({ dataDir: dir, env, wallClock: { now: () => now }, logger: quietLog, paths: paths() });

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'restart-reason-'));
    await writeFile(join(dir, 'boot_id'), 'boot-1\n');
    await writeFile(join(dir, 'cmdline'), 'root=PARTUUID=x rauc.slot=A ro\n');
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('records each start for the next and tells reboot from power loss', async () => {
    expect(await start({ INVOCATION_ID: 'run-1', AIRPANEL_BUNDLE_VERSION: '0.1.0' })).toEqual({
      reason: 'first-start',
      at: AT,
      detail: null,
      bootedSlot: 'A',
    });
    expect(JSON.parse(await readFile(join(dir, 'last-start.json'), 'utf8'))).toEqual({
      bootId: 'boot-1',
      invocationId: 'run-1',
      version: '0.1.0',
      bootedSlot: 'A',
      at: AT,
    });
    await writeFile(join(dir, 'boot_id'), 'boot-2\n');
    expect((await start({ INVOCATION_ID: 'run-2', AIRPANEL_BUNDLE_VERSION: '0.1.0' })).reason).toBe('power-loss');
    await writeFile(
      join(dir, 'last-stop.json'),
      JSON.stringify(stop('success', 'exited', '0', { bootId: 'boot-2', invocationId: 'run-2' })),
    );
    await writeFile(join(dir, 'boot_id'), 'boot-3\n');
    expect((await start({ INVOCATION_ID: 'run-3', AIRPANEL_BUNDLE_VERSION: '0.1.0' })).reason).toBe('reboot');
  });

  it('a corrupt record is ignored, not fatal', async () => {
    await writeFile(join(dir, 'last-start.json'), '{"bootId": 3');
    await writeFile(join(dir, 'last-stop.json'), 'garbage');
    expect((await start({})).reason).toBe('first-start');
  });

  it("a fall-back read from RAUC's files", async () => {
    await writeFile(join(dir, 'system.conf'), '[slot.rootfs.0]\nbootname=A\n[slot.rootfs.1]\nbootname=B\n');
    await writeFile(join(dir, 'central.raucs'), '[slot.rootfs.1]\nactivated.timestamp=2026-12-02T10:00:00Z\n');
    await start({ INVOCATION_ID: 'run-1' });
    await writeFile(join(dir, 'boot_id'), 'boot-2\n');
    expect(await start({ INVOCATION_ID: 'run-2' })).toMatchObject({ reason: 'slot-fallback', bootedSlot: 'A' });
  });
});
