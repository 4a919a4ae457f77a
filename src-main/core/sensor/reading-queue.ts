import { mkdir, readdir, readFile, rename, rm, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { PanelReading } from '../../common/index.js';
import { fsyncDir, writeFileAtomic } from '../../common-node/atomic-file.js';
import type { CoreLogger } from '../logger.js';

/** A week of one reading a minute: a long outage loses nothing, a dead broker cannot fill /data. */
export const DEFAULT_READING_QUEUE_MAX = 7 * 24 * 60;

const READING_FILE = /^r-(\d{16})\.json$/;
const TEMP_FILE = /^\..*\.tmp$/;
const fileOf = (seq: number) => `r-${String(seq).padStart(16, '0')}.json`;

export interface ReadingQueueOptions {
  /** `<dataDir>/sensor-queue`. */
  dir: string;
  maxEntries?: number;
  logger: CoreLogger;
}

/**
 * Readings waiting for the broker's acknowledgement, on disk, one file per reading
 * (`r-<seq>.json`, written atomically: temp file, fsync, rename, fsync the directory), so a
 * power cut loses at most the reading being written and never corrupts another. `seq.json`
 * keeps the next sequence number, so sequence numbers keep growing after the queue drained
 * and the panel restarted. The oldest readings go first, and go when the queue is full.
 */
export class ReadingQueue {
  private readonly entries: PanelReading[] = [];
  private nextSeq = 1;
  private readonly max: number;

  constructor(private readonly o: ReadingQueueOptions) {
    this.max = o.maxEntries ?? DEFAULT_READING_QUEUE_MAX;
  }

  /** Loads what a previous run left; unreadable files are moved aside, never fatal. */
  async open(): Promise<void> {
    await mkdir(this.o.dir, { recursive: true });
    const names = await readdir(this.o.dir);
    for (const name of names) {
      if (TEMP_FILE.test(name)) await rm(join(this.o.dir, name), { force: true }); // a write cut short
    }
    const loaded: PanelReading[] = [];
    for (const name of names.filter((n) => READING_FILE.test(n)).sort()) {
      const path = join(this.o.dir, name);
      try {
        loaded.push(PanelReading.parse(JSON.parse(await readFile(path, 'utf8'))));
      } catch (err) {
        this.o.logger.error('queued reading unreadable; moved aside', { file: name, error: String(err).slice(0, 200) });
        await rename(path, `${path}.corrupt`).catch(() => undefined);
      }
    }
    loaded.sort((a, b) => a.seq - b.seq);
    this.entries.push(...loaded);
    let stored = 0;
    try {
      stored = (JSON.parse(await readFile(join(this.o.dir, 'seq.json'), 'utf8')) as { next?: unknown }).next as number;
    } catch {
      // absent on a first start, or lost: the queued readings still bound it from below
    }
    this.nextSeq = Math.max(Number.isSafeInteger(stored) ? stored : 1, (loaded.at(-1)?.seq ?? 0) + 1, 1);
    if (loaded.length > 0) this.o.logger.info('reading queue loaded', { readings: loaded.length, oldestSeq: loaded[0]!.seq, nextSeq: this.nextSeq });
  }

  /** The sequence number the next reading gets (and reserves it). */
  takeSeq(): number {
    return this.nextSeq++;
  }

  get size(): number {
    return this.entries.length;
  }

  peek(): PanelReading | null {
    return this.entries[0] ?? null;
  }

  /** Stores a reading durably; resolves once it is on disk. */
  async append(reading: PanelReading): Promise<void> {
    await writeFileAtomic(join(this.o.dir, fileOf(reading.seq)), JSON.stringify(reading), { syncDirectory: false });
    await writeFileAtomic(join(this.o.dir, 'seq.json'), JSON.stringify({ next: Math.max(this.nextSeq, reading.seq + 1) }), { syncDirectory: false });
    await fsyncDir(this.o.dir);
    this.entries.push(reading);
    let dropped = 0;
    while (this.entries.length > this.max) {
      const oldest = this.entries.shift()!;
      await unlink(join(this.o.dir, fileOf(oldest.seq))).catch(() => undefined);
      dropped++;
    }
    if (dropped > 0) this.o.logger.warn('reading queue full: oldest readings dropped', { dropped, max: this.max });
  }

  /** Forgets the oldest reading once the broker acknowledged it. */
  async removeHead(id: string): Promise<void> {
    const head = this.entries[0];
    if (!head || head.id !== id) return;
    this.entries.shift();
    await unlink(join(this.o.dir, fileOf(head.seq))).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
  }
}
