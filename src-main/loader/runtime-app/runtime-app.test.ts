import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { IMAGE_RUNTIME_CONFIG, readRuntimeConfig, RUNTIME_CONFIG_FILE } from './config.js';
import { LoaderUsageError, parseLoaderArgs } from './loader-role.js';
import { parseReleaseName, releaseSwitch, roleOf } from './roles.js';

describe("roleOf (the runtime's command line)", () => {
  it('a release by version or factory, the other arguments kept in order', () => {
    expect(roleOf(['--airpanel-release=1.4.2', '--ozone-platform=wayland'])).toEqual({
      kind: 'release',
      release: { version: '1.4.2' },
      args: ['--ozone-platform=wayland'],
    });
    expect(roleOf(['--inspect=0', '--airpanel-release=factory'])).toEqual({ kind: 'release', release: 'factory', args: ['--inspect=0'] });
    expect(roleOf(['--airpanel-release=1.5.0-rc.1'])).toMatchObject({ kind: 'release', release: { version: '1.5.0-rc.1' } });
  });

  it('the loader role, its options left for the loader', () => {
    expect(roleOf(['--airpanel-role=loader', '--host', 'electron', '--', '--ozone-platform=wayland'])).toEqual({
      kind: 'loader',
      args: ['--host', 'electron', '--', '--ozone-platform=wayland'],
    });
  });

  it.each([
    [[], /no role/],
    [['/data/airpanel/releases/1.0.0/main.js'], /no role/],
    [['--airpanel-release=/tmp/x.js'], /never a path/],
    [['--airpanel-release=../1.0.0'], /never a path/],
    [['--airpanel-release=1.0.0/../../x'], /never a path/],
    [['--airpanel-release='], /never a path/],
    [['--airpanel-release', '1.0.0'], /never a path/],
    [['--airpanel-release=1.0.0', '--airpanel-release=2.0.0'], /more than one role/],
    [['--airpanel-role=loader', '--airpanel-release=factory'], /more than one role/],
    [['--airpanel-role=app'], /unknown role/],
  ])('%j starts nothing', (args, reason) => {
    const role = roleOf(args);
    expect(role.kind).toBe('refused');
    expect(role.kind === 'refused' && role.reason).toMatch(reason);
  });

  it('releaseSwitch and parseReleaseName are inverse', () => {
    for (const name of ['factory', '1.0.0', '2.3.4-beta.2']) {
      const parsed = parseReleaseName(name)!;
      expect(releaseSwitch(parsed)).toBe(`--airpanel-release=${name}`);
    }
    expect(parseReleaseName('factory2')).toBeNull();
  });
});

describe('runtime.json', () => {
  const dir = mkdtempSync(join(tmpdir(), 'airpanel-runtime-config-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const write = (content: string) => writeFileSync(join(dir, RUNTIME_CONFIG_FILE), content);

  it("reads the image's paths", () => {
    write(JSON.stringify(IMAGE_RUNTIME_CONFIG));
    expect(readRuntimeConfig(dir)).toEqual(IMAGE_RUNTIME_CONFIG);
  });

  it.each([
    ['a relative path', JSON.stringify({ ...IMAGE_RUNTIME_CONFIG, dataDir: 'data/airpanel' }), /dataDir: an absolute path/],
    ['an unknown field', JSON.stringify({ ...IMAGE_RUNTIME_CONFIG, entry: '/tmp/x.js' }), /Unrecognized key/],
    ['a missing field', JSON.stringify({ dataDir: '/data/airpanel' }), /factoryDir/],
    ['not JSON', '{', /JSON/],
    ['more than 64 KiB', JSON.stringify({ ...IMAGE_RUNTIME_CONFIG, pad: 'x'.repeat(70_000) }), /larger than 65536 bytes/],
  ])('refuses %s', (_what, content, message) => {
    write(content);
    expect(() => readRuntimeConfig(dir)).toThrow(message);
  });
});

describe("parseLoaderArgs (the unit's loader options on the Electron host)", () => {
  const config = IMAGE_RUNTIME_CONFIG;

  it("the unit's command line: timings, and the runtime args after --", () => {
    expect(
      parseLoaderArgs(
        [
          '--host',
          'electron',
          '--data-dir',
          '/data/airpanel',
          '--factory-dir',
          '/usr/lib/airpanel/factory',
          '--runtime',
          '/opt/airpanel/airpanel',
          '--health-deadline-ms',
          '60000',
          '--max-attempts',
          '2',
          '--',
          '--ozone-platform=wayland',
        ],
        config,
      ),
    ).toEqual({
      healthDeadlineMs: 60_000,
      maxAttempts: 2,
      crashLimit: 3,
      crashWindowMs: 600_000,
      runtimeArgs: ['--ozone-platform=wayland'],
    });
  });

  it('defaults without options; nothing after a missing --', () => {
    expect(parseLoaderArgs([], config)).toEqual({
      healthDeadlineMs: 60_000,
      maxAttempts: 2,
      crashLimit: 3,
      crashWindowMs: 600_000,
      runtimeArgs: [],
    });
  });

  it.each([
    [
      ['--keyring', '/data/airpanel/keys.json'],
      /--keyring \/data\/airpanel\/keys\.json: this runtime's keyring is \/usr\/lib\/airpanel\/release-keys\.json/,
    ],
    [['--runtime', '/usr/bin/node'], /this runtime's runtime is \/opt\/airpanel\/airpanel/],
    [['--health-deadline-ms', '1.5'], /positive integer/],
    [['stray'], /positional/],
  ])('%j is a usage error', (args, message) => {
    expect(() => parseLoaderArgs(args, config)).toThrow(LoaderUsageError);
    expect(() => parseLoaderArgs(args, config)).toThrow(message);
  });
});
