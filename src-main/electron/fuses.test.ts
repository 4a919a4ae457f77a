import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FuseVersion, flipFuses } from '@electron/fuses';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  FUSE_KEYS,
  PANEL_FUSES,
  WIRE_INDEX,
  checkElectronBuilderFuses,
  checkFuseWire,
  expectedElectronBuilderFuses,
  readFuseWire,
} from './fuses.js';

// The fuse table and its two checks (electron-builder's config section, a binary's wire). The
// binary here is a stand-in: a file holding Electron's fuse sentinel and a V1 wire, which is
// all @electron/fuses reads and writes; the real flipFuses writes it.

const SENTINEL = 'dL7pKGdnNz796PbbjQWNKmHXBZaB9tsX';
const ENABLE = 0x31;
const DISABLE = 0x30;
const REMOVED = 0x72;

/** A stand-in Electron binary: some bytes, the sentinel, wire version 1, the states. */
function standInBinary(states: number[]): Buffer {
  return Buffer.concat([
    Buffer.from('\x7fELF stand-in '),
    Buffer.from(SENTINEL),
    Buffer.from([1, states.length, ...states]),
    Buffer.alloc(32),
  ]);
}

describe('PANEL_FUSES', () => {
  it('turns off every way to run other code in the main process, each with a reason', () => {
    for (const key of [
      'runAsNode',
      'enableNodeOptionsEnvironmentVariable',
      'enableNodeCliInspectArguments',
      'grantFileProtocolExtraPrivileges',
    ] as const) {
      expect(PANEL_FUSES[key].on, key).toBe(false);
    }
    for (const key of FUSE_KEYS) expect(PANEL_FUSES[key].why.length, key).toBeGreaterThan(20);
  });
});

describe('checkElectronBuilderFuses', () => {
  it('accepts exactly the table, and names each missing or different fuse', () => {
    expect(checkElectronBuilderFuses(expectedElectronBuilderFuses())).toEqual([]);
    expect(checkElectronBuilderFuses(undefined)).toEqual(['electronFuses is missing']);
    const { runAsNode: _dropped, ...missing } = expectedElectronBuilderFuses();
    expect(checkElectronBuilderFuses(missing)).toEqual([expect.stringMatching(/^electronFuses\.runAsNode is missing/)]);
    expect(checkElectronBuilderFuses({ ...expectedElectronBuilderFuses(), enableNodeCliInspectArguments: true })).toEqual([
      expect.stringMatching(/^electronFuses\.enableNodeCliInspectArguments is true, must be false/),
    ]);
  });
});

describe('fuse wire of a binary', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'airpanel-fuses-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('an unflipped Electron (RunAsNode, NODE_OPTIONS, --inspect, file:// privileges on) fails, naming each', async () => {
    const bin = join(dir, 'stock');
    // Electron's defaults: 1 on, 2 off, 3 on, 4 on, 5 off, 6 off, 7 off, 8 on.
    await writeFile(bin, standInBinary([ENABLE, DISABLE, ENABLE, ENABLE, DISABLE, DISABLE, DISABLE, ENABLE]));
    const report = await readFuseWire(bin);
    expect(report.problems.map((p) => p.split(' ')[0]).sort()).toEqual([
      'enableNodeCliInspectArguments',
      'enableNodeOptionsEnvironmentVariable',
      'grantFileProtocolExtraPrivileges',
      'runAsNode',
    ]);
    expect(report.fuses[0]).toEqual({ name: 'runAsNode', state: 'enabled' });
  });

  it("flipped with the table (as electron-builder does) it passes; a newer wire's extra fuse is listed, not judged", async () => {
    const bin = join(dir, 'flipped');
    await writeFile(bin, standInBinary([ENABLE, DISABLE, ENABLE, ENABLE, DISABLE, DISABLE, DISABLE, ENABLE, ENABLE]));
    const config = { version: FuseVersion.V1 } as Record<string, unknown>;
    for (const key of FUSE_KEYS) config[WIRE_INDEX[key]] = PANEL_FUSES[key].on;
    await flipFuses(bin, config as unknown as Parameters<typeof flipFuses>[1]);
    const report = await readFuseWire(bin);
    expect(report.problems).toEqual([]);
    expect(report.fuses).toHaveLength(9);
    expect(report.fuses[8]).toEqual({ name: 'fuse #8', state: 'enabled' });
    // Only the wire changed: the rest of the file is the same length.
    expect((await readFile(bin)).length).toBe(standInBinary(new Array(9).fill(0)).length);
  });

  it('a wire too short for a fuse, or an unknown version, fails; a fuse marked removed is accepted', () => {
    const short = checkFuseWire({ version: '1', 0: DISABLE, 1: DISABLE });
    expect(short.problems).toContainEqual(expect.stringMatching(/^enableNodeOptionsEnvironmentVariable is not on the wire/));
    const removed = checkFuseWire({
      version: '1',
      0: REMOVED,
      1: DISABLE,
      2: DISABLE,
      3: DISABLE,
      4: DISABLE,
      5: DISABLE,
      6: DISABLE,
      7: DISABLE,
    });
    expect(removed.problems).toEqual([]);
    expect(checkFuseWire({ version: '2' }).problems[0]).toMatch(/fuse wire version 2/);
  });

  it('a file without the sentinel cannot be read', async () => {
    const bin = join(dir, 'not-electron');
    await writeFile(bin, 'just a file');
    await expect(readFuseWire(bin)).rejects.toThrow(/sentinel/);
  });
});
