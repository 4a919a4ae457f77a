import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, open, readFile, realpath, rename, rm, stat } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { z } from 'zod';
import { ProvisionError } from './errors.js';
import { runChecked, type ToolRunner } from './tools.js';

/** GPT name (partlabel) of the data partition, mounted at /data on the panel. */
export const DATA_PARTITION_NAME = 'airpanel-data';
/** GPT types a data partition may have: Linux filesystem, or Microsoft basic data (vfat). */
export const LINUX_FILESYSTEM_TYPE = '0FC63DAF-8483-4772-8E79-3D69D8477DE4';
export const BASIC_DATA_TYPE = 'EBD0A0A2-B9E5-4433-87C0-68B6B72699C7';

/** The part of `sfdisk --json` we rely on (sfdisk's output, not an Airpanel contract). */
const SfdiskJson = z.object({
  partitiontable: z.object({
    label: z.string(),
    sectorsize: z.number().int().positive().default(512),
    partitions: z
      .array(
        z.object({
          node: z.string(),
          start: z.number().int().nonnegative(),
          size: z.number().int().positive(),
          type: z.string(),
          uuid: z.string().optional(),
          name: z.string().optional(),
        }),
      )
      .default([]),
  }),
});
export type PartitionTable = z.infer<typeof SfdiskJson>['partitiontable'];
export type Partition = PartitionTable['partitions'][number];

export async function readPartitionTable(tools: ToolRunner, image: string): Promise<PartitionTable> {
  const r = await tools.run('sfdisk', ['--json', image]);
  if (r.code !== 0) {
    const why = r.stderr.trim().split('\n').pop() ?? '';
    throw new ProvisionError(
      `${image} has no readable partition table (${why || `sfdisk exited ${r.code}`}); ` + 'is this an Airpanel image or card?',
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(r.stdout.toString());
  } catch {
    throw new ProvisionError(`sfdisk --json ${image} printed something that is not JSON`);
  }
  const parsed = SfdiskJson.safeParse(json);
  if (!parsed.success) throw new ProvisionError(`unexpected sfdisk --json output for ${image}`);
  return parsed.data.partitiontable;
}

/** Finds the data partition by GPT name and type; explains what was found otherwise. */
export function findDataPartition(table: PartitionTable, image: string): Partition {
  if (table.label !== 'gpt') {
    throw new ProvisionError(
      `${image} has a ${table.label} partition table; Airpanel images use GPT with a partition named ${DATA_PARTITION_NAME}`,
    );
  }
  const named = table.partitions.filter((p) => p.name === DATA_PARTITION_NAME);
  if (named.length === 0) {
    const found = table.partitions.map((p) => p.name || '(unnamed)').join(', ') || 'none';
    throw new ProvisionError(`${image} has no data partition: no GPT partition is named ${DATA_PARTITION_NAME} (found: ${found})`);
  }
  if (named.length > 1) throw new ProvisionError(`${image} has ${named.length} partitions named ${DATA_PARTITION_NAME}; refusing to guess`);
  const part = named[0]!;
  const type = part.type.toUpperCase();
  if (type !== LINUX_FILESYSTEM_TYPE && type !== BASIC_DATA_TYPE) {
    throw new ProvisionError(
      `partition ${DATA_PARTITION_NAME} of ${image} has GPT type ${part.type}, expected Linux filesystem (${LINUX_FILESYSTEM_TYPE})`,
    );
  }
  return part;
}

export type FsKind = 'ext4' | 'vfat';

/** Recognizes the filesystem at the start of a partition by its superblock. */
export function detectFilesystem(head: Buffer): FsKind | null {
  if (head.length >= 1082 && head[1080] === 0x53 && head[1081] === 0xef) return 'ext4';
  if (
    head.length >= 512 &&
    head[510] === 0x55 &&
    head[511] === 0xaa &&
    (head.subarray(54, 57).toString('latin1') === 'FAT' || head.subarray(82, 87).toString('latin1') === 'FAT32')
  )
    return 'vfat';
  return null;
}

/**
 * Mount points of a disk's partitions, from /proc/self/mountinfo text: writing under a mounted
 * filesystem would corrupt it (desktops auto-mount a card's partitions when it is inserted).
 */
export function mountsOf(device: string, mountinfo: string): string[] {
  const base = device.replace(/\/+$/, '');
  return mountinfo.split('\n').flatMap((line) => {
    const [left, right] = line.split(' - ');
    if (!left || !right) return [];
    const source = right.split(' ')[1] ?? '';
    const mountPoint = left.split(' ')[4] ?? '';
    const isPartition = source === base || (source.startsWith(base) && /^p?\d+$/.test(source.slice(base.length)));
    return isPartition ? [`${source} on ${mountPoint.replace(/\\040/g, ' ')}`] : [];
  });
}

const CHUNK = 1 << 20;

function isZero(buf: Buffer): boolean {
  for (let i = 0; i < buf.length; i += 8) {
    if (buf.length - i >= 8 ? buf.readBigUInt64LE(i) !== 0n : buf.subarray(i).some((b) => b !== 0)) return false;
  }
  return true;
}

async function readFully(fh: FileHandle, buf: Buffer, position: number): Promise<number> {
  let done = 0;
  while (done < buf.length) {
    const { bytesRead } = await fh.read(buf, done, buf.length - done, position + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return done;
}

/** Progress of a long copy: bytes done of total (a card is read at SD-card speed). */
export type ProgressFn = (phase: 'reading' | 'writing', done: number, total: number) => void;

/** Copies `length` bytes at `offset` of `src` into a new sparse file `dest`. */
export async function extractRange(src: string, offset: number, length: number, dest: string, progress?: ProgressFn): Promise<void> {
  const input = await open(src, 'r');
  const output = await open(dest, 'wx', 0o600);
  try {
    const buf = Buffer.alloc(CHUNK);
    for (let pos = 0; pos < length; pos += CHUNK) {
      const want = Math.min(CHUNK, length - pos);
      const got = await readFully(input, buf.subarray(0, want), offset + pos);
      if (got < want) throw new ProvisionError(`${src} ends inside its data partition (truncated image?)`);
      if (!isZero(buf.subarray(0, want))) await output.write(buf, 0, want, pos);
      progress?.('reading', pos + want, length);
    }
    await output.truncate(length);
  } finally {
    await input.close();
    await output.close();
  }
}

/**
 * Writes into `target` at `offset` every chunk where `modified` differs from what `target`
 * holds there, then fsyncs. Returns the number of bytes written.
 */
export async function patchChanges(target: string, offset: number, modified: string, progress?: ProgressFn): Promise<number> {
  const out = await open(target, 'r+');
  const mod = await open(modified, 'r');
  let written = 0;
  try {
    const size = (await mod.stat()).size;
    const a = Buffer.alloc(CHUNK);
    const b = Buffer.alloc(CHUNK);
    for (let pos = 0; pos < size; pos += CHUNK) {
      const want = Math.min(CHUNK, size - pos);
      await readFully(mod, a.subarray(0, want), pos);
      const got = await readFully(out, b.subarray(0, want), offset + pos);
      if (got < want || !a.subarray(0, want).equals(b.subarray(0, want))) {
        await out.write(a, 0, want, offset + pos);
        written += want;
      }
      progress?.('writing', pos + want, size);
    }
    await out.sync();
  } finally {
    await out.close();
    await mod.close();
  }
  return written;
}

/** A filesystem image file (one partition, copied out) that can be read and changed. */
export interface FsAdapter {
  readonly kind: FsKind;
  /** A file below the partition root, or null when absent. */
  readFile(path: string): Promise<Buffer | null>;
  writeFiles(files: readonly FsFile[]): Promise<void>;
  /** Full read-only check of the filesystem; throws when it is not clean. */
  check(): Promise<void>;
}

export interface FsFile {
  /** Path below the partition root, e.g. `airpanel/panel.json`. */
  path: string;
  data: Buffer;
  mode: number;
}

export interface DataPartitionOptions {
  tools: ToolRunner;
  /** Where partition copies are made (large: the size of the data partition, sparse). */
  tmpDir: string;
  /** Told how far the copies of the partition are (optional). */
  progress?: ProgressFn;
  /** Where mounts are listed (default /proc/self/mountinfo). */
  mountinfo?: string;
  /** Makes the adapter for a copied-out partition file (ext4 → debugfs, vfat → mtools). */
  adapterFor(kind: FsKind, partitionFile: string, workDir: string): FsAdapter;
}

export interface DataPartitionInfo {
  image: string;
  partition: Partition;
  offset: number;
  length: number;
  fs: FsKind;
  blockDevice: boolean;
}

/**
 * The data partition of an image file or a card, edited without root: the partition is
 * copied to a temp file, changed there with debugfs or mtools, checked with e2fsck/fsck.vfat,
 * and only then written back. An image file is replaced atomically (a copy is patched, synced
 * and renamed over it); a block device is patched in place, only where bytes changed.
 * On any error the image is left as it was.
 */
export class DataPartition {
  constructor(private readonly opts: DataPartitionOptions) {}

  async open<T>(image: string, use: (fs: FsAdapter, info: DataPartitionInfo) => Promise<{ result: T; changed: boolean }>): Promise<T> {
    const { tools } = this.opts;
    let st;
    try {
      st = await stat(image);
    } catch (e) {
      throw new ProvisionError(`cannot open ${image}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    const blockDevice = st.isBlockDevice();
    if (!blockDevice && !st.isFile()) throw new ProvisionError(`${image} is neither an image file nor a block device`);
    if (blockDevice) {
      const mounted = mountsOf(await realpath(image), await readFile(this.opts.mountinfo ?? '/proc/self/mountinfo', 'utf8'));
      if (mounted.length)
        throw new ProvisionError(
          `${image} has mounted partitions (${mounted.join(', ')}): unmount them first (e.g. udisksctl unmount), or use --data-dir on the mounted data partition`,
        );
    }

    const table = await readPartitionTable(tools, image);
    const partition = findDataPartition(table, image);
    const offset = partition.start * table.sectorsize;
    const length = partition.size * table.sectorsize;
    if (!blockDevice && offset + length > st.size) {
      throw new ProvisionError(`${image} is ${st.size} bytes but its data partition ends at byte ${offset + length} (truncated image?)`);
    }

    const work = await mkdtemp(join(this.opts.tmpDir, 'airpanel-inject-'));
    try {
      const head = Buffer.alloc(4096);
      const fh = await open(image, 'r');
      try {
        await readFully(fh, head, offset);
      } finally {
        await fh.close();
      }
      const fs = detectFilesystem(head);
      if (!fs) throw new ProvisionError(`the data partition of ${image} holds no ext4 or vfat filesystem (not formatted yet?)`);
      const info: DataPartitionInfo = { image, partition, offset, length, fs, blockDevice };

      const partFile = join(work, `data.${fs}`);
      await extractRange(image, offset, length, partFile, this.opts.progress);
      const adapter = this.opts.adapterFor(fs, partFile, work);
      await adapter.check();
      const { result, changed } = await use(adapter, info);
      if (!changed) return result;
      await adapter.check();

      if (blockDevice) {
        await patchChanges(image, offset, partFile, this.opts.progress);
      } else {
        // Atomic replacement: patch a (reflinked, sparse) copy beside the image, then rename.
        const copy = join(dirname(image), `.${basename(image)}.${randomBytes(4).toString('hex')}.tmp`);
        try {
          await runChecked(tools, 'cp', ['--reflink=auto', '--sparse=always', '--', image, copy], `copying ${image}`);
          await chmod(copy, st.mode & 0o7777);
          await patchChanges(copy, offset, partFile, this.opts.progress);
          await rename(copy, image);
        } catch (e) {
          await rm(copy, { force: true });
          throw e;
        }
        const dh = await open(dirname(image), 'r');
        try {
          await dh.sync();
        } finally {
          await dh.close();
        }
      }
      return result;
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  }
}
