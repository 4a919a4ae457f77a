// The unit's ExecStopPost= script (record-stop) and the app's reader (core/restart-reason.ts)
// agree on last-stop.json: the script run as systemd runs it, the module reading its output.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { recordStart, StopRecord } from '@airpanel/panel/core/restart-reason';
import { BOARD, must } from './image-fixture.js';

const SCRIPT = join(BOARD, 'common/rootfs-overlay/usr/libexec/airpanel/record-stop');
const quietLog = { error: () => undefined, warn: () => undefined, info: () => undefined, debug: () => undefined };

describe("record-stop (airpanel.service ExecStopPost=) → the app's restart reason", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'record-stop-'));
    writeFileSync(join(dir, 'boot_id'), 'f0e1d2c3-aaaa-bbbb-cccc-000000000001\n');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const stopRun = (env: Record<string, string>) =>
    must('sh', [SCRIPT], {
      env: { PATH: process.env.PATH ?? '', AIRPANEL_DATA_DIR: dir, AIRPANEL_BOOT_ID_FILE: join(dir, 'boot_id'), ...env },
    });
  const start = (invocation: string) =>
    recordStart({
      dataDir: dir,
      env: { INVOCATION_ID: invocation },
      wallClock: { now: () => Date.parse('2026-12-02T15:00:00Z') },
      logger: quietLog,
      paths: { bootId: join(dir, 'boot_id'), cmdline: join(dir, 'none'), raucSystemConf: join(dir, 'none'), raucStatus: join(dir, 'none') },
    });

  it('a watchdog stop, a kill and a crash are read back as such on the next start', async () => {
    for (const [result, code, status, expected] of [
      ['watchdog', 'killed', 'ABRT', 'watchdog'],
      ['signal', 'killed', 'KILL', 'killed'],
      ['exit-code', 'exited', '1', 'crash'],
    ] as const) {
      await start('0123456789abcdef0123456789abcdef');
      stopRun({ INVOCATION_ID: '0123456789abcdef0123456789abcdef', SERVICE_RESULT: result, EXIT_CODE: code, EXIT_STATUS: status });
      const record = StopRecord.parse(JSON.parse(readFileSync(join(dir, 'last-stop.json'), 'utf8')));
      expect(record).toMatchObject({
        bootId: 'f0e1d2c3-aaaa-bbbb-cccc-000000000001',
        serviceResult: result,
        exitCode: code,
        exitStatus: status,
      });
      expect(record.at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      expect(await start('fedcba9876543210fedcba9876543210')).toMatchObject({ reason: expected, detail: `${result}: ${code} ${status}` });
    }
  });

  it("values that are not systemd's cannot break the JSON; no temp file is left", () => {
    stopRun({ INVOCATION_ID: 'x", "evil": "1', SERVICE_RESULT: 'a\nb' });
    expect(StopRecord.parse(JSON.parse(readFileSync(join(dir, 'last-stop.json'), 'utf8')))).toMatchObject({
      invocationId: 'xevil:1',
      serviceResult: 'ab',
    });
    expect(readdirSync(dir).sort()).toEqual(['boot_id', 'last-stop.json']);
  });

  it("a data dir it cannot write does not fail the unit's stop", () => {
    const r = must('sh', [SCRIPT], { env: { PATH: process.env.PATH ?? '', AIRPANEL_DATA_DIR: join(dir, 'absent') } });
    expect(r.stderr).toMatch(/could not write/);
  });
});
