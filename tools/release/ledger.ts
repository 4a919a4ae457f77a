import { readFile, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { writeFileAtomic } from '@airpanel/node-support/atomic-file';
import { IsoDateTime } from '@airpanel/contract';
import { KeyId, ReleaseChannel, ReleaseManifest, ReleaseVersion } from '@airpanel/contract/release';

/**
 * The release ledger: the release manager's own record of every manifest they signed, kept
 * beside the private keys (`keys/release-ledger.json`), never on the backend. Counters come
 * from here, not from the feed, and `promote` / `rollback` re-sign what the ledger says was
 * signed, so a backend that lies (changed sha512 or URL, a huge counter) cannot get its
 * numbers signed. Written atomically (temp, fsync, rename), validated with zod on every read.
 */
export const LEDGER_FILE_NAME = 'release-ledger.json';

/**
 * Largest step the counter may take at once, in the ledger and when adopting a counter the
 * feed holds. A fast-forward to MAX_SAFE_INTEGER would make every panel refuse every later
 * manifest (they accept only growing counters): that must never be one typo or one lie away.
 */
export const MAX_COUNTER_JUMP = 1000;

const MAX_LEDGER_BYTES = 64 * 1024 * 1024;

export const LedgerEntry = z.strictObject({
  manifest: ReleaseManifest,
  keyIds: z.array(KeyId).min(1).max(8),
  signedAt: IsoDateTime,
  /** Recorded from a feed after its signature was checked (signed elsewhere, e.g. offline). */
  adopted: z.boolean().optional(),
});
export type LedgerEntry = z.infer<typeof LedgerEntry>;

/**
 * A manifest signed before schema 2 (no `bundleDescriptorSha256`, one Electron
 * `minRuntimeVersion`): in ledgers and on feeds from then. Its counter was handed out and counts;
 * it cannot be re-signed (panels take schema 2 only, and it names no bundle.json to carry over).
 * Only what the ledger needs is checked; the rest is kept as it was signed.
 */
export const SchemaOneManifest = z.looseObject({
  schema: z.literal(1),
  version: ReleaseVersion,
  channel: ReleaseChannel,
  counter: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
});
export type SchemaOneManifest = z.infer<typeof SchemaOneManifest>;

const SchemaOneLedgerEntry = LedgerEntry.extend({ manifest: SchemaOneManifest });
type SchemaOneLedgerEntry = z.infer<typeof SchemaOneLedgerEntry>;

const isCurrent = (e: LedgerEntry | SchemaOneLedgerEntry): e is LedgerEntry => e.manifest.schema !== 1;

export const LedgerFile = z.strictObject({
  format: z.literal('airpanel-release-ledger/1'),
  /** The highest counter ever signed (or adopted): the next manifest gets a higher one. */
  counter: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  /** Schema-1 entries (recorded before schema 2) are kept for their counters; entries() leaves them out. */
  entries: z.array(z.union([LedgerEntry, SchemaOneLedgerEntry])).max(100_000),
});
export type LedgerFile = z.infer<typeof LedgerFile>;

/** Default place: next to the first private key given. */
export function defaultLedgerFile(keyFiles: readonly string[]): string {
  const first = keyFiles[0];
  if (!first) throw new Error('a ledger needs --ledger or a --key to sit beside');
  return join(dirname(first), LEDGER_FILE_NAME);
}

export class ReleaseLedger {
  private constructor(
    readonly file: string,
    private data: LedgerFile,
  ) {}

  /** Opens the ledger; a missing file is an empty ledger, a corrupt one an error (never silently reset). */
  static async open(file: string): Promise<ReleaseLedger> {
    let text: string;
    try {
      if ((await stat(file)).size > MAX_LEDGER_BYTES) throw new Error(`${file}: larger than ${MAX_LEDGER_BYTES} bytes`);
      text = await readFile(file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT')
        return new ReleaseLedger(file, { format: 'airpanel-release-ledger/1', counter: 0, entries: [] });
      throw e;
    }
    const parsed = LedgerFile.safeParse(JSON.parse(text));
    if (!parsed.success)
      throw new Error(`${file} is not a release ledger: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    return new ReleaseLedger(file, parsed.data);
  }

  get counter(): number {
    return this.data.counter;
  }

  /** Entries that can be re-signed (schema 2); schema-1 entries only count towards the counter. */
  entries(): readonly LedgerEntry[] {
    return this.data.entries.filter(isCurrent);
  }

  /** The newest entry for `version` (on `channel`, if given). */
  find(version: string, channel?: string): LedgerEntry | undefined {
    return this.entries()
      .filter((e) => e.manifest.version === version && (channel === undefined || e.manifest.channel === channel))
      .sort((a, b) => b.manifest.counter - a.manifest.counter)[0];
  }

  /** Entries signed for `channel`, newest first. */
  onChannel(channel: string): LedgerEntry[] {
    return this.entries()
      .filter((e) => e.manifest.channel === channel)
      .sort((a, b) => b.manifest.counter - a.manifest.counter);
  }

  /** The counter for the next manifest: the ledger's + 1, or `requested` if it grows by at most MAX_COUNTER_JUMP. */
  nextCounter(requested?: number): number {
    if (requested === undefined) return this.data.counter + 1;
    if (!Number.isSafeInteger(requested) || requested <= this.data.counter)
      throw new Error(`counter ${requested} must be above the ledger's ${this.data.counter} (${this.file})`);
    if (requested > this.data.counter + MAX_COUNTER_JUMP)
      throw new Error(
        `counter ${requested} jumps more than ${MAX_COUNTER_JUMP} above the ledger's ${this.data.counter}: refused (panels would refuse every release below it)`,
      );
    return requested;
  }

  /**
   * Records a manifest before it leaves this machine: a counter is never handed out twice.
   * A schema-1 manifest is recorded only when adopted from a feed (its counter is taken).
   */
  async record(manifest: ReleaseManifest | SchemaOneManifest, keyIds: string[], o: { adopted?: boolean; now?: Date } = {}): Promise<void> {
    if (manifest.counter <= this.data.counter && !o.adopted)
      throw new Error(`counter ${manifest.counter} is not above the ledger's ${this.data.counter}`);
    if (manifest.counter > this.data.counter + MAX_COUNTER_JUMP)
      throw new Error(`counter ${manifest.counter} jumps more than ${MAX_COUNTER_JUMP} above the ledger's ${this.data.counter}`);
    const next = LedgerFile.parse({
      ...this.data,
      counter: Math.max(this.data.counter, manifest.counter),
      entries: [
        ...this.data.entries,
        { manifest, keyIds, signedAt: (o.now ?? new Date()).toISOString(), ...(o.adopted ? { adopted: true } : {}) },
      ],
    });
    await writeFileAtomic(this.file, `${JSON.stringify(next, null, 1)}\n`, { mode: 0o600 });
    this.data = next;
  }
}
