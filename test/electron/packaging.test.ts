// electron-builder.yml packaged for real by electron-builder (the version the image build
// uses), then its fuses read back by src-main/electron/check-fuses.ts as the image build does.
// Electron itself cannot be downloaded here, so electron-builder packs a stand-in Electron
// distribution: a file holding Electron's fuse sentinel and a V1 wire whose every fuse starts
// in the state OPPOSITE to the panel's table, so any fuse the yml leaves out stays wrong and
// the read-back fails. The app packed beside it is a stand-in too (one main.js): what is under
// test is the yml's packaging options and fuses, not the app.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO, tempDir } from '../image-fixture.js';
import { FUSE_KEYS, PANEL_FUSES, WIRE_INDEX } from '@airpanel/panel/electron/fuses';

const SENTINEL = 'dL7pKGdnNz796PbbjQWNKmHXBZaB9tsX';
const ENABLE = 0x31;
const DISABLE = 0x30;
const ELECTRON_VERSION = (JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> })
  .devDependencies.electron!;
const work = tempDir('airpanel-packaging-');
afterAll(() => work.remove());

/** A stand-in unpacked Electron for Linux: the executable (with the fuse wire) and chrome-sandbox. */
function standInElectronDist(dir: string): void {
  mkdirSync(join(dir, 'resources'), { recursive: true });
  const wire = new Array<number>(FUSE_KEYS.length);
  for (const key of FUSE_KEYS) wire[WIRE_INDEX[key]] = PANEL_FUSES[key].on ? DISABLE : ENABLE;
  writeFileSync(
    join(dir, 'electron'),
    Buffer.concat([
      Buffer.from('#!/bin/sh\necho stand-in Electron\n'),
      Buffer.from(SENTINEL),
      Buffer.from([1, wire.length, ...wire]),
      Buffer.alloc(64),
    ]),
  );
  chmodSync(join(dir, 'electron'), 0o755);
  writeFileSync(join(dir, 'chrome-sandbox'), 'stand-in chrome-sandbox');
  chmodSync(join(dir, 'chrome-sandbox'), 0o755);
  for (const f of ['LICENSE', 'LICENSES.chromium.html']) writeFileSync(join(dir, f), 'stand-in');
  writeFileSync(join(dir, 'version'), ELECTRON_VERSION);
}

/** A stand-in project with the repository's electron-builder.yml (as is) and a one-file app. */
function standInProject(dir: string, yml: string): void {
  mkdirSync(join(dir, 'dist/app'), { recursive: true });
  writeFileSync(
    join(dir, 'package.json'),
    JSON.stringify({
      name: 'airpanel',
      version: '0.0.1',
      main: 'dist/app/main.js',
      author: 'stand-in',
      devDependencies: { electron: ELECTRON_VERSION },
    }),
  );
  writeFileSync(join(dir, 'dist/app/main.js'), '// stand-in app\n');
  writeFileSync(join(dir, 'electron-builder.yml'), yml);
}

function packageWith(project: string, dist: string) {
  return spawnSync(
    join(REPO, 'node_modules/.bin/electron-builder'),
    ['--config', 'electron-builder.yml', '--linux', 'dir', '--x64', `-c.electronDist=${dist}`, '-c.npmRebuild=false'],
    { cwd: project, encoding: 'utf8', timeout: 120_000, env: { ...process.env, CI: 'true' } },
  );
}

function checkFuses(binary: string) {
  return spawnSync('npx', ['--no-install', 'tsx', join(REPO, 'src-main/electron/check-fuses.ts'), binary], {
    cwd: REPO,
    encoding: 'utf8',
    timeout: 60_000,
  });
}

describe('electron-builder.yml', () => {
  const dist = join(work.dir, 'electron-dist');
  const project = join(work.dir, 'project');
  let packaged: ReturnType<typeof packageWith>;
  beforeAll(() => {
    standInElectronDist(dist);
    standInProject(project, readFileSync(join(REPO, 'electron-builder.yml'), 'utf8'));
    packaged = packageWith(project, dist);
  }, 150_000);

  it('packages the runtime for Linux with every fuse flipped as the panel requires', () => {
    expect(packaged.status, packaged.stdout + packaged.stderr).toBe(0);
    const unpacked = join(project, 'dist/electron/linux-unpacked');
    expect(statSync(join(unpacked, 'airpanel')).isFile()).toBe(true);
    expect(statSync(join(unpacked, 'resources/app.asar')).isFile()).toBe(true);
    const r = checkFuses(join(unpacked, 'airpanel'));
    expect(r.status, r.stdout + r.stderr).toBe(0);
    for (const key of FUSE_KEYS) expect(r.stdout).toContain(`${key}: ${PANEL_FUSES[key].on ? 'enabled' : 'disabled'}`);
  });

  it('the read-back fails on the runtime as Electron ships it (not flipped), naming the fuses', () => {
    const r = checkFuses(join(dist, 'electron'));
    expect(r.status).toBe(1);
    for (const key of FUSE_KEYS) expect(r.stderr).toContain(`fuse problem: ${key} is`);
  });

  it('a yml that leaves out a fuse packages a runtime the read-back refuses', () => {
    const yml = readFileSync(join(REPO, 'electron-builder.yml'), 'utf8');
    expect(yml).toMatch(/^ {2}runAsNode: false$/m);
    const without = join(work.dir, 'project-without-runAsNode');
    standInProject(without, yml.replace(/^ {2}runAsNode: false\n/m, ''));
    const p = packageWith(without, dist);
    expect(p.status, p.stdout + p.stderr).toBe(0);
    const r = checkFuses(join(without, 'dist/electron/linux-unpacked/airpanel'));
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/fuse problem: runAsNode is enabled, must be disabled/);
    expect(r.stderr.match(/fuse problem/g)).toHaveLength(1);
  }, 150_000);
});
