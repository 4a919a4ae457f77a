// The Node kiosk host started on a bundle whose renderer is missing: the maintenance screen
// APP-1 at once, and systemd told the start is done (the host with a renderer:
// node-kiosk-host.test.ts).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  CHROMIUM,
  TEST_CHROMIUM_FLAGS,
  canRun,
  killTree,
  logLinesOf,
  notifyListener,
  until,
  useKioskApp,
  useWorkDir,
} from './node-kiosk-host.test-support.js';

const app = useKioskApp();
const work = useWorkDir('airpanel-node-kiosk-no-renderer-');

describe.runIf(canRun)('Node kiosk host with a bundle that has no renderer', () => {
  const dir = join(work.dir, 'no-renderer');
  let receiver: ChildProcess | null = null;
  let host: ChildProcess | null = null;

  afterAll(async () => {
    await killTree(host);
    await killTree(receiver);
  }, 30_000);

  it('shows the maintenance screen APP-1 at once and tells systemd the start is done', async () => {
    mkdirSync(join(dir, 'run'), { recursive: true, mode: 0o700 });
    mkdirSync(join(dir, 'empty-renderer'), { recursive: true });
    const listener = await notifyListener(join(dir, 'notify.sock'));
    receiver = listener.child;
    host = spawn(
      process.execPath,
      [join(app.appDir, 'node-main.js'), '--data-dir', join(dir, 'data'), '--renderer-dir', join(dir, 'empty-renderer')],
      {
        stdio: ['ignore', 'pipe', 'ignore'],
        env: {
          PATH: process.env.PATH ?? '/usr/bin:/bin',
          NOTIFY_SOCKET: join(dir, 'notify.sock'),
          XDG_RUNTIME_DIR: join(dir, 'run'),
          AIRPANEL_CHROMIUM: CHROMIUM,
          AIRPANEL_CHROMIUM_FLAGS: TEST_CHROMIUM_FLAGS,
        },
      },
    );
    const logLines = logLinesOf(host);
    const ready = await until('READY=1', () => listener.datagrams.find((d) => d.text.startsWith('READY=1')), 60_000);
    expect(ready.text).toBe('READY=1|STATUS=maintenance APP-1');
    expect(logLines.some((l) => l.message === 'renderer bundle missing')).toBe(true);
    expect(logLines.some((l) => l.message === 'kiosk window: transition' && String(l.reason).startsWith('maintenance APP-1'))).toBe(true);
  }, 90_000);
});
