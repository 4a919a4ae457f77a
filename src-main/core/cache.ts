import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { z } from 'zod';
import { DisplayDocument, Identifier } from '@airpanel/contract';
import { fsyncDir, writeFileAtomic, type AtomicWriteOptions } from '@airpanel/node-support/atomic-file';
import type { WallClock } from './clock.js';
import { dataDirPaths } from './data-dir.js';
import type { Logger } from '@airpanel/node-support/logger';

/**
 * The last known good content on disk, shown at boot before any network.
 *
 * Each file is an envelope `{ format: 1, sha256, payload }` where `payload` is the JSON text
 * of the content and `sha256` its hex digest: a torn or bit-rotted file fails the checksum
 * instead of showing half a document. Two files:
 *   cache/display.json   the current DisplayDocument (it carries the thresholds/scheme)
 *   cache/revision.json  `{ panelId, revision }`: the highest revision accepted, kept apart
 *                        so a replayed old document is refused even if display.json is lost
 * A file that fails any check is moved aside as `<name>.corrupt-<timestamp>` and logged;
 * the panel carries on as if it had no cache.
 */
const CacheEnvelope = z.object({
  format: z.literal(1),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  payload: z.string(),
});

const RevisionHighWater = z.object({
  panelId: Identifier,
  revision: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
});
export type RevisionHighWater = z.infer<typeof RevisionHighWater>;

/** Corrupt files kept for a technician; older ones are deleted so /data cannot fill up. */
const MAX_CORRUPT_FILES_KEPT = 3;

export interface CachedState {
  document: DisplayDocument | null;
  /** Highest revision accepted for `panelId` (0 when unknown). */
  highestRevision: number;
}

function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

export function encodeEnvelope(value: unknown): string {
  const payload = JSON.stringify(value);
  return JSON.stringify({ format: 1, sha256: sha256Hex(payload), payload });
}

/** Parses an envelope; throws an Error saying what is wrong. */
export function decodeEnvelope(text: string): unknown {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new Error(`not JSON (${text.length} bytes; truncated?)`);
  }
  const envelope = CacheEnvelope.safeParse(raw);
  if (!envelope.success) throw new Error('not a cache envelope');
  if (sha256Hex(envelope.data.payload) !== envelope.data.sha256) throw new Error('checksum mismatch');
  return JSON.parse(envelope.data.payload);
}

/**
 * How the cache puts its files on disk. A panel uses Node's asynchronous calls (the default):
 * its main process must not stop while a slow card flushes. A host running thousands of
 * cores in one process on tmpfs (the simulated fleet) may pass the synchronous twins: the
 * same files and fsyncs, at a fraction of the CPU (asynchronous fs costs ~190 µs of CPU per
 * file written on tmpfs, synchronous ~25 µs, measured on the development machine).
 */
export interface CacheDiskWriter {
  writeFileAtomic(path: string, data: string, options: AtomicWriteOptions): Promise<void>;
  fsyncDir(dir: string): Promise<void>;
}

const asynchronousDiskWriter: CacheDiskWriter = { writeFileAtomic, fsyncDir };

export interface LastKnownGoodCacheOptions {
  dataDir: string;
  wallClock: WallClock;
  logger: Logger;
  /** Default: Node's asynchronous file calls. */
  diskWriter?: CacheDiskWriter;
}

export class LastKnownGoodCache {
  private readonly paths: ReturnType<typeof dataDirPaths>;
  private readonly wallClock: WallClock;
  private readonly disk: CacheDiskWriter;
  private readonly logger: Logger;
  /**
   * One write at a time, so two quick documents cannot interleave their renames. While one is
   * in flight only the newest waiting document is kept: an older one would be overwritten at
   * once anyway, and keeping every one queues documents in memory without bound (and wears
   * the flash) when documents arrive faster than the disk syncs.
   */
  private inFlight: Promise<void> | null = null;
  private waiting: { document: DisplayDocument; settlers: { resolve: () => void; reject: (err: unknown) => void }[] } | null = null;
  private completedWrites = 0;
  /** Set by the first save: from then on temp files in cache/ may be this cache's own. */
  private saving = false;

  constructor(options: LastKnownGoodCacheOptions) {
    this.paths = dataDirPaths(options.dataDir);
    this.wallClock = options.wallClock;
    this.logger = options.logger;
    this.disk = options.diskWriter ?? asynchronousDiskWriter;
  }

  /**
   * Loads what the cache holds. `panelId` null (config unreadable) trusts the data dir's own
   * cache; otherwise content of another panel (a re-provisioned data dir) is ignored.
   */
  async load(panelId: string | null): Promise<CachedState> {
    await this.removeInterruptedWrites();
    const document = await this.readValidated(this.paths.displayCache, DisplayDocument);
    const highWater = await this.readValidated(this.paths.revisionHighWater, RevisionHighWater);
    let shown: DisplayDocument | null = document;
    if (document && panelId !== null && document.panelId !== panelId) {
      this.logger.warn('cached document belongs to another panel; ignored', {
        cachedPanelId: document.panelId,
        panelId,
        file: this.paths.displayCache,
      });
      shown = null;
    }
    const owner = panelId ?? shown?.panelId ?? null;
    const highFromFile = highWater && owner !== null && highWater.panelId === owner ? highWater.revision : 0;
    return { document: shown, highestRevision: Math.max(highFromFile, shown?.revision ?? 0) };
  }

  /**
   * Stores a newly accepted document, then the high-water mark (in that order, see load).
   * Resolves once this document, or a newer one saved after it, is on disk.
   */
  save(document: DisplayDocument): Promise<void> {
    this.saving = true;
    return new Promise<void>((resolve, reject) => {
      if (this.waiting) {
        this.waiting.document = document;
        this.waiting.settlers.push({ resolve, reject });
      } else {
        this.waiting = { document, settlers: [{ resolve, reject }] };
      }
      if (!this.inFlight) this.writeNext();
    });
  }

  /** Resolves when every save started so far has finished. */
  async flush(): Promise<void> {
    while (this.inFlight) await this.inFlight;
  }

  /** How many documents reached the disk (saves coalesced while one was in flight count once). */
  get writeCount(): number {
    return this.completedWrites;
  }

  private writeNext(): void {
    const batch = this.waiting;
    this.waiting = null;
    if (!batch) {
      this.inFlight = null;
      return;
    }
    this.inFlight = this.writeDocument(batch.document)
      .then(
        () => {
          this.completedWrites++;
          for (const s of batch.settlers) s.resolve();
        },
        (err: unknown) => {
          for (const s of batch.settlers) s.reject(err);
        },
      )
      .then(() => this.writeNext());
  }

  private async writeDocument(document: DisplayDocument): Promise<void> {
    try {
      await this.writeBoth(document);
    } catch (err) {
      // The directory is made on the first write, and again if someone removed it since.
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      await mkdir(this.paths.cacheDir, { recursive: true });
      await this.writeBoth(document);
    }
  }

  /** Both files live in cache/: one directory fsync makes both renames durable. */
  private async writeBoth(document: DisplayDocument): Promise<void> {
    await this.disk.writeFileAtomic(this.paths.displayCache, encodeEnvelope(document), { syncDirectory: false });
    await this.disk.writeFileAtomic(
      this.paths.revisionHighWater,
      encodeEnvelope({ panelId: document.panelId, revision: document.revision }),
      { syncDirectory: false },
    );
    await this.disk.fsyncDir(this.paths.cacheDir);
  }

  /**
   * Temp files of atomic writes cut short by a power loss or a kill (`.<name>.<pid>.<hex>.tmp`,
   * see writeFileAtomic) are never renamed nor removed by anyone: without this, each such cut
   * would leave one in cache/ for good. One cache writes to a data dir at a time, so before its
   * own first write every temp file there is a leftover (pids repeat from boot to boot on a
   * panel, so the pid in the name cannot tell).
   */
  private async removeInterruptedWrites(): Promise<void> {
    if (this.saving) return;
    let names: string[];
    try {
      names = await readdir(this.paths.cacheDir);
    } catch {
      return;
    }
    const leftover = /^\.(?:display|revision)\.json\.\d+\.[0-9a-f]+\.tmp$/;
    for (const name of names) {
      if (!leftover.test(name)) continue;
      await rm(join(this.paths.cacheDir, name), { force: true }).catch(() => undefined);
      this.logger.info('removed the temp file of an interrupted cache write', { file: name });
    }
  }

  private async readValidated<T>(path: string, schema: z.ZodType<T>): Promise<T | null> {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
        this.logger.error('cache file unreadable; ignored', { file: path, error: String(err) });
      }
      return null;
    }
    try {
      const parsed = schema.safeParse(decodeEnvelope(text));
      if (!parsed.success)
        throw new Error(`content invalid: ${parsed.error.issues[0]?.path.join('.')}: ${parsed.error.issues[0]?.message}`);
      return parsed.data;
    } catch (err) {
      await this.moveAside(path, (err as Error).message);
      return null;
    }
  }

  private async moveAside(path: string, problem: string): Promise<void> {
    const stamp = new Date(this.wallClock.now()).toISOString().replace(/[:.]/g, '-');
    const target = `${path}.corrupt-${stamp}`;
    try {
      await rename(path, target);
      this.logger.error('corrupt cache file moved aside', { file: path, movedTo: target, problem });
      await this.pruneCorrupt(path);
    } catch (err) {
      this.logger.error('corrupt cache file could not be moved aside', { file: path, problem, error: String(err) });
    }
  }

  private async pruneCorrupt(path: string): Promise<void> {
    const dir = dirname(path);
    const prefix = `${basename(path)}.corrupt-`;
    const names = (await readdir(dir)).filter((n) => n.startsWith(prefix)).sort();
    for (const name of names.slice(0, Math.max(0, names.length - MAX_CORRUPT_FILES_KEPT))) {
      await rm(join(dir, name), { force: true });
    }
  }
}
