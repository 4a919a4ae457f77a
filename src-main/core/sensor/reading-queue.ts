import { mkdir, readdir, readFile, rename, rm, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { PanelReading } from '@airpanel/contract';
import { fsyncDir, writeFileAtomic } from '@airpanel/node-support/atomic-file';
import type { Logger } from '@airpanel/node-support/logger';

/** A week of one reading a minute: a long outage loses nothing, a dead broker cannot fill /data. */
export const DEFAULT_READING_QUEUE_MAX = 7 * 24 * 60;

const READING_FILE = /^r-(\d{16})\.json$/;
const TEMP_FILE = /^\..*\.tmp$/;
const fileOf = (seq: number) => `r-${String(seq).padStart(16, '0')}.json`;

export interface ReadingQueueOptions {
  /** `<dataDir>/sensor-queue`. */
  dir: string;
  maxEntries?: number;
  logger: Logger;
}

/**
 * Readings waiting for the broker's acknowledgement, on disk, one file per reading
 * (`r-<seq>.json`, written atomically: temp file, fsync, rename, fsync the directory), so a
 * power cut loses at most the reading being written and never corrupts another. `seq.json`
 * keeps the next sequence number, so sequence numbers keep growing after the queue drained
 * and the panel restarted. The oldest readings go first, and go when the queue is full.
 * A reading stays after the broker's acknowledgement (`markSent`) until the backend confirms
 * it recorded it (`remove`): a broker can acknowledge a message and then lose it (an external
 * broker killed before it delivered it to the backend).
 */
export class ReadingQueue {
  private readonly entries: PanelReading[] = [];
  /** Readings the broker acknowledged, by id → when (monotonic ms); they stay until the backend confirms. */
  private readonly sent = new Map<string, number>();
  private nextSeq = 1;
  /** What `seq.json` says: one past the newest reading on disk, never a number only reserved. */
  private storedNextSeq = 1;
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
    this.storedNextSeq = this.nextSeq;
    if (loaded.length > 0)
      this.o.logger.info('reading queue loaded', { readings: loaded.length, oldestSeq: loaded[0]!.seq, nextSeq: this.nextSeq });
  }

  /** The sequence number the next reading gets (and reserves it). */
  takeSeq(): number {
    return this.nextSeq++;
  }

  get size(): number {
    return this.entries.length;
  }

  /** The oldest reading not yet acknowledged by the broker. */
  firstUnsent(): PanelReading | null {
    return this.entries.find((e) => !this.sent.has(e.id)) ?? null;
  }

  markSent(id: string, atMono: number): void {
    this.sent.set(id, atMono);
  }

  /** Acknowledged readings, oldest first, with when they were acknowledged. */
  sentEntries(limit: number): { id: string; atMono: number }[] {
    const out: { id: string; atMono: number }[] = [];
    for (const e of this.entries) {
      const at = this.sent.get(e.id);
      if (at !== undefined) out.push({ id: e.id, atMono: at });
      if (out.length >= limit) break;
    }
    return out;
  }

  /** Sends it again: the broker acknowledged it but the backend does not have it. */
  markUnsent(id: string): void {
    this.sent.delete(id);
  }

  /** Forgets readings the backend confirmed it recorded. */
  async remove(ids: Iterable<string>): Promise<number> {
    const drop = new Set(ids);
    let removed = 0;
    for (let i = this.entries.length - 1; i >= 0; i--) {
      const e = this.entries[i]!;
      if (!drop.has(e.id)) continue;
      this.entries.splice(i, 1);
      this.sent.delete(e.id);
      removed++;
      await unlink(join(this.o.dir, fileOf(e.seq))).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw err;
      });
    }
    return removed;
  }

  /** Stores a reading durably; resolves once it is on disk. */
  async append(reading: PanelReading): Promise<void> {
    await writeFileAtomic(join(this.o.dir, fileOf(reading.seq)), JSON.stringify(reading), { syncDirectory: false });
    // One past this reading, not past every number taken: a reading whose number was taken
    // while this one was written, and which a power cut then stopped before it reached the
    // disk, gets its number again after the restart, so the backend sees no gap in the series.
    this.storedNextSeq = Math.max(this.storedNextSeq, reading.seq + 1);
    await writeFileAtomic(join(this.o.dir, 'seq.json'), JSON.stringify({ next: this.storedNextSeq }), {
      syncDirectory: false,
    });
    await fsyncDir(this.o.dir);
    this.entries.push(reading);
    let dropped = 0;
    while (this.entries.length > this.max) {
      const oldest = this.entries.shift()!;
      this.sent.delete(oldest.id);
      await unlink(join(this.o.dir, fileOf(oldest.seq))).catch(() => undefined);
      dropped++;
    }
    if (dropped > 0) this.o.logger.warn('reading queue full: oldest readings dropped', { dropped, max: this.max });
  }
}
