// Unit tests of the partition helpers: pure functions and real files (no tools needed).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  BASIC_DATA_TYPE,
  LINUX_FILESYSTEM_TYPE,
  detectFilesystem,
  extractRange,
  findDataPartition,
  mountsOf,
  patchChanges,
  type PartitionTable,
} from './disk.js';

const dirs: string[] = [];
const temp = () => {
  const d = mkdtempSync(join(tmpdir(), 'airpanel-disk-'));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const table = (parts: Partial<PartitionTable['partitions'][number]>[], label = 'gpt'): PartitionTable => ({
  label,
  sectorsize: 512,
  partitions: parts.map((p, i) => ({ node: `d${i + 1}`, start: 2048 * (i + 1), size: 2048, type: LINUX_FILESYSTEM_TYPE, ...p })),
});

describe('findDataPartition', () => {
  it('finds the partition named airpanel-data (Linux filesystem or basic data type)', () => {
    expect(findDataPartition(table([{ name: 'efi' }, { name: 'airpanel-data' }]), 'x.img').node).toBe('d2');
    expect(findDataPartition(table([{ name: 'airpanel-data', type: BASIC_DATA_TYPE.toLowerCase() }]), 'x.img').node).toBe('d1');
  });

  it('explains what it found otherwise', () => {
    expect(() => findDataPartition(table([{ name: 'efi' }, {}]), 'x.img')).toThrow(/no data partition.*found: efi, \(unnamed\)/);
    expect(() => findDataPartition(table([{ name: 'airpanel-data' }], 'dos'), 'x.img')).toThrow(/has a dos partition table/);
    expect(() => findDataPartition(table([{ name: 'airpanel-data' }, { name: 'airpanel-data' }]), 'x.img')).toThrow(/2 partitions named/);
    expect(() => findDataPartition(table([{ name: 'airpanel-data', type: 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B' }]), 'x.img')).toThrow(
      /GPT type C12A/,
    );
  });
});

describe('mountsOf', () => {
  const mountinfo = [
    '22 1 8:2 / / rw,relatime shared:1 - ext4 /dev/sda2 rw',
    '95 22 179:4 / /media/tech/airpanel-data rw,nosuid shared:50 - ext4 /dev/mmcblk0p4 rw',
    '96 22 179:1 / /media/tech/AIRPANEL\\040BOOT rw shared:51 - vfat /dev/mmcblk0p1 rw',
    '97 22 8:17 / /mnt/x rw - ext4 /dev/sdb1 rw',
  ].join('\n');

  it('lists the mounted partitions of a card, and only of that card', () => {
    expect(mountsOf('/dev/mmcblk0', mountinfo)).toEqual([
      '/dev/mmcblk0p4 on /media/tech/airpanel-data',
      '/dev/mmcblk0p1 on /media/tech/AIRPANEL BOOT',
    ]);
    expect(mountsOf('/dev/sdb', mountinfo)).toEqual(['/dev/sdb1 on /mnt/x']);
    expect(mountsOf('/dev/sd', mountinfo)).toEqual([]);
    expect(mountsOf('/dev/sdc', mountinfo)).toEqual([]);
  });
});

describe('detectFilesystem', () => {
  it('recognizes ext4 and FAT superblocks and nothing else', () => {
    const ext = Buffer.alloc(4096);
    ext[1080] = 0x53;
    ext[1081] = 0xef;
    expect(detectFilesystem(ext)).toBe('ext4');
    const fat32 = Buffer.alloc(4096);
    fat32.write('FAT32   ', 82, 'latin1');
    fat32[510] = 0x55;
    fat32[511] = 0xaa;
    expect(detectFilesystem(fat32)).toBe('vfat');
    const fat16 = Buffer.alloc(4096);
    fat16.write('FAT16   ', 54, 'latin1');
    fat16[510] = 0x55;
    fat16[511] = 0xaa;
    expect(detectFilesystem(fat16)).toBe('vfat');
    expect(detectFilesystem(Buffer.alloc(4096))).toBeNull();
    expect(detectFilesystem(Buffer.alloc(100))).toBeNull();
  });
});

describe('extractRange and patchChanges (the block-device write path)', () => {
  it('copies a range out and writes back only the chunks that changed', async () => {
    const d = temp();
    const disk = join(d, 'disk');
    const MiB = 1 << 20;
    const original = Buffer.alloc(6 * MiB);
    for (let i = 0; i < original.length; i += 4096) original[i] = (i / 4096) % 251;
    writeFileSync(disk, original);

    const part = join(d, 'part');
    const seen: [string, number, number][] = [];
    await extractRange(disk, MiB, 4 * MiB, part, (phase, done, total) => seen.push([phase, done, total]));
    expect(seen.at(-1)).toEqual(['reading', 4 * MiB, 4 * MiB]);
    expect(seen).toHaveLength(4);
    expect(readFileSync(part).equals(original.subarray(MiB, 5 * MiB))).toBe(true);

    const modified = readFileSync(part);
    modified[2 * MiB + 10] = 0xff; // one byte in the third chunk of the partition
    writeFileSync(part, modified);
    expect(await patchChanges(disk, MiB, part)).toBe(MiB);
    const after = readFileSync(disk);
    expect(after[3 * MiB + 10]).toBe(0xff);
    const expected = Buffer.from(original);
    expected[3 * MiB + 10] = 0xff;
    expect(after.equals(expected)).toBe(true);
    expect(await patchChanges(disk, MiB, part)).toBe(0); // nothing left to write
  });

  it('refuses a range that runs past the end of the image', async () => {
    const d = temp();
    writeFileSync(join(d, 'short'), Buffer.alloc(1024));
    await expect(extractRange(join(d, 'short'), 512, 4096, join(d, 'out'))).rejects.toThrow(/ends inside its data partition/);
  });
});
