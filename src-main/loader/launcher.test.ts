import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ProcessLauncher, ReleaseNameLauncher } from './launcher.js';

// Real child processes: a shell script records the command line and environment it got.
const dir = mkdtempSync(join(tmpdir(), 'airpanel-launcher-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const runtime = join(dir, 'runtime');
writeFileSync(runtime, `#!/bin/sh\nprintf '%s\\n' "$@" > "$OUT.args"\nenv > "$OUT.env"\n`);
chmodSync(runtime, 0o755);

async function launched(launcher: ProcessLauncher, entry: string, env: Record<string, string>, out: string) {
  const app = launcher.launch(entry, { ...env, OUT: join(dir, out) });
  expect(await app.exited).toEqual({ code: 0, signal: null });
  const vars = Object.fromEntries(
    readFileSync(join(dir, `${out}.env`), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
  return {
    args: readFileSync(join(dir, `${out}.args`), 'utf8')
      .split('\n')
      .filter(Boolean),
    env: vars,
  };
}

const LAUNCH = {
  AIRPANEL_BUNDLE_VERSION: '2.0.0',
  AIRPANEL_LAUNCH: 'trial',
  AIRPANEL_DATA_DIR: '/data/airpanel',
  AIRPANEL_BUNDLE_ENTRY: '/data/airpanel/releases/2.0.0/main.js',
  AIRPANEL_BUNDLE_DIR: '/data/airpanel/releases/2.0.0',
};

describe('ProcessLauncher (Node host)', () => {
  it('runtime args, then the entry path; the launch environment passed on', async () => {
    const got = await launched(
      new ProcessLauncher(runtime, ['--max-old-space-size=256']),
      '/data/airpanel/releases/2.0.0/node-main.js',
      LAUNCH,
      'node',
    );
    expect(got.args).toEqual(['--max-old-space-size=256', '/data/airpanel/releases/2.0.0/node-main.js']);
    expect(got.env).toMatchObject({ AIRPANEL_BUNDLE_VERSION: '2.0.0', AIRPANEL_LAUNCH: 'trial' });
  });
});

describe('ReleaseNameLauncher (Electron runtime app)', () => {
  it('a release by name and the runtime args; no path on the command line or in the environment', async () => {
    // Even a loader started with it in its own environment does not hand it on.
    process.env.ELECTRON_RUN_AS_NODE = '1';
    const got = await launched(
      new ReleaseNameLauncher(runtime, ['--ozone-platform=wayland']),
      LAUNCH.AIRPANEL_BUNDLE_ENTRY,
      LAUNCH,
      'trial',
    ).finally(() => delete process.env.ELECTRON_RUN_AS_NODE);
    expect(got.args).toEqual(['--airpanel-release=2.0.0', '--ozone-platform=wayland']);
    expect(got.env).toMatchObject({ AIRPANEL_BUNDLE_VERSION: '2.0.0', AIRPANEL_LAUNCH: 'trial', AIRPANEL_DATA_DIR: '/data/airpanel' });
    expect(got.env.AIRPANEL_BUNDLE_ENTRY).toBeUndefined();
    expect(got.env.AIRPANEL_BUNDLE_DIR).toBeUndefined();
    expect(got.env.ELECTRON_RUN_AS_NODE).toBeUndefined();
  });

  it('the factory launch is named factory, whatever version its bundle has', async () => {
    const got = await launched(
      new ReleaseNameLauncher(runtime, []),
      '/usr/lib/airpanel/factory/main.js',
      { ...LAUNCH, AIRPANEL_LAUNCH: 'factory', AIRPANEL_BUNDLE_VERSION: '1.0.0' },
      'factory',
    );
    expect(got.args).toEqual(['--airpanel-release=factory']);
  });

  it('a launch without a release name is a programming error, not a start', () => {
    expect(() => new ReleaseNameLauncher(runtime, []).launch('/x/main.js', { AIRPANEL_LAUNCH: 'current' })).toThrow(/names no release/);
  });
});
