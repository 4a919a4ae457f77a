import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { writeFileAtomicSync } from '@airpanel/node-support/atomic-file';
import { UpdateReport } from '@airpanel/contract';
import { ReleaseManifest, SignedManifestEnvelope, type SignedManifestEnvelope as Envelope } from '@airpanel/contract/release';
import { BUNDLE_NAME_PATTERN, ChannelState } from '@airpanel/contract/api';

export { ChannelState };

/**
 * The release feed's own storage, self-contained in `<dataDir>/releases/`:
 *   index.json          releases (signed envelopes), channel state, highest counter
 *   panels.json         per-panel update reports
 *   bundles/<sha512hex>.tar.gz
 * Both JSON files are written atomically (temp, fsync, rename, fsync dir).
 */
export const StoredRelease = z.object({
  envelope: SignedManifestEnvelope,
  publishedAt: z.string(),
});
export type StoredRelease = z.infer<typeof StoredRelease>;

const IndexFile = z.object({
  format: z.literal('airpanel-release-feed/1'),
  maxCounter: z.number().int().min(0),
  releases: z.array(StoredRelease),
  channels: z.record(z.string(), ChannelState),
});
type IndexFile = z.infer<typeof IndexFile>;

export const PanelUpdateRecord = z.object({
  panelId: z.string(),
  channel: z.string().max(64),
  runningVersion: z.string().max(64),
  report: UpdateReport,
  receivedAt: z.string(),
});
export type PanelUpdateRecord = z.infer<typeof PanelUpdateRecord>;

export class ReleaseFeedStore {
  readonly dir: string;
  readonly bundlesDir: string;
  private index: IndexFile;
  private panels: Record<string, PanelUpdateRecord>;

  constructor(dataDir: string) {
    this.dir = join(dataDir, 'releases');
    this.bundlesDir = join(this.dir, 'bundles');
    mkdirSync(this.bundlesDir, { recursive: true });
    this.index = readJson(join(this.dir, 'index.json'), IndexFile) ?? {
      format: 'airpanel-release-feed/1',
      maxCounter: 0,
      releases: [],
      channels: {},
    };
    this.panels = readJson(join(this.dir, 'panels.json'), z.record(z.string(), PanelUpdateRecord)) ?? {};
  }

  get maxCounter(): number {
    return this.index.maxCounter;
  }

  releases(): StoredRelease[] {
    return [...this.index.releases];
  }

  channels(): Record<string, ChannelState> {
    return { ...this.index.channels };
  }

  /** What the feed can say about a stored release; never throws (see StoredReleaseView). */
  viewOf(r: StoredRelease): StoredReleaseView {
    return viewOfStoredRelease(r);
  }

  /**
   * The envelope served on `channel`, or null (none, or paused). Served as stored, whatever its
   * schema: panels check it (signature, then schema), the feed does not judge what it serves.
   */
  served(channel: string): { envelope: Envelope; paused: boolean } | null {
    const ch = this.index.channels[channel];
    if (!ch || ch.activeCounter === null) return null;
    const r = this.index.releases.find((x) => counterOf(x.envelope.manifest) === ch.activeCounter);
    return r ? { envelope: r.envelope, paused: ch.paused } : null;
  }

  /** Adds a release and makes it its channel's served manifest. The caller checked it. */
  addRelease(envelope: Envelope, manifest: ReleaseManifest, nowIso: string): void {
    this.index.releases.push({ envelope, publishedAt: nowIso });
    this.index.maxCounter = Math.max(this.index.maxCounter, manifest.counter);
    const prev = this.index.channels[manifest.channel];
    this.index.channels[manifest.channel] = { activeCounter: manifest.counter, paused: prev?.paused ?? false, updatedAt: nowIso };
    this.flushIndex();
  }

  setPaused(channel: string, paused: boolean, nowIso: string): ChannelState {
    const prev = this.index.channels[channel] ?? { activeCounter: null, paused: false, updatedAt: nowIso };
    const next = { ...prev, paused, updatedAt: nowIso };
    this.index.channels[channel] = next;
    this.flushIndex();
    return next;
  }

  /** Bundles are named by the first 32 bytes of their sha512 (hex): `<64 hex>.tar.gz`. */
  bundlePath(name: string): string {
    if (!BUNDLE_NAME.test(name)) throw new Error('bad bundle name');
    return join(this.bundlesDir, name);
  }

  recordPanel(rec: PanelUpdateRecord): void {
    this.panels[rec.panelId] = rec;
    writeFileAtomicSync(join(this.dir, 'panels.json'), JSON.stringify(this.panels), { mode: 0o644 });
  }

  panelRecords(): PanelUpdateRecord[] {
    return Object.values(this.panels).sort((a, b) => a.panelId.localeCompare(b.panelId));
  }

  private flushIndex(): void {
    writeFileAtomicSync(join(this.dir, 'index.json'), JSON.stringify(this.index, null, 1), { mode: 0o644 });
  }
}

/**
 * A stored release as the feed describes it. Rows are kept as they were signed, and the manifest
 * schema has changed since some were stored: a schema-1 row (no `bundleDescriptorSha256`, one
 * Electron `minRuntimeVersion`; src-main/common/release/manifest.ts) is listed and served as
 * stored but flagged `servable: false`, since current panels refuse it (their loader could not
 * check it at launch). Listing never fails on such a row.
 */
export type StoredReleaseView =
  | { servable: true; manifest: ReleaseManifest; counter: number; channel: string }
  | { servable: false; reason: string; counter: number | null; channel: string | null; fields: Record<string, unknown> };

export function viewOfStoredRelease(r: StoredRelease): StoredReleaseView {
  const raw = r.envelope.manifest;
  const parsed = ReleaseManifest.safeParse(raw);
  if (parsed.success) return { servable: true, manifest: parsed.data, counter: parsed.data.counter, channel: parsed.data.channel };
  const reason =
    raw.schema === 1
      ? 'schema 1: current panels refuse it (nothing in it lets their loader check the installed bundle at launch); publish the bundle again for a schema-2 manifest'
      : `not a valid schema-2 manifest: ${parsed.error.issues
          .slice(0, 3)
          .map((i) => `${i.path.join('.')}: ${i.message}`)
          .join('; ')}`;
  const channel = typeof raw.channel === 'string' ? raw.channel : null;
  return { servable: false, reason: reason.slice(0, 500), counter: counterOf(raw), channel, fields: raw };
}

/** The counter of a stored manifest, read without judging the rest of it (null if it has none). */
function counterOf(raw: Record<string, unknown>): number | null {
  return typeof raw.counter === 'number' && Number.isSafeInteger(raw.counter) ? raw.counter : null;
}

export const BUNDLE_NAME = BUNDLE_NAME_PATTERN;

/** The file name of a bundle with this sha512 (base64, as in manifests). */
export function bundleNameOf(sha512b64: string): string {
  return `${Buffer.from(sha512b64, 'base64').toString('hex').slice(0, 64)}.tar.gz`;
}

export function newSha512(): ReturnType<typeof createHash> {
  return createHash('sha512');
}

function readJson<T>(file: string, schema: z.ZodType<T>): T | null {
  try {
    return schema.parse(JSON.parse(readFileSync(file, 'utf8')));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new Error(`${file} is corrupt: ${(e as Error).message}`);
  }
}
