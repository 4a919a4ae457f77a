import { readdir, readFile, writeFile, mkdir, rm } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { basename } from 'node:path';
import { fsyncDirSync, writeFileAtomicSync } from '@airpanel/node-support/atomic-file';
import { decodeEnvelope, encodeEnvelope, LastKnownGoodCache, type CacheDiskWriter } from './cache.js';
import { dataDirPaths } from './data-dir.js';
import { capturingLogger, makeDataDir, makeDocument } from './testing/fixtures.js';

describe('LastKnownGoodCache', () => {
  let dataDir: { dir: string; cleanup: () => Promise<void> };
  let wallMs = Date.parse('2026-03-01T12:00:00.000Z');
  const wallClock = { now: () => wallMs };
  beforeEach(async () => {
    dataDir = await makeDataDir();
  });
  afterEach(() => dataDir.cleanup());

  function newCache() {
    const log = capturingLogger();
    return { cache: new LastKnownGoodCache({ dataDir: dataDir.dir, wallClock, logger: log.logger }), entries: log.entries };
  }

  it('returns nothing on first boot', async () => {
    const { cache } = newCache();
    expect(await cache.load('panel-001')).toEqual({ document: null, highestRevision: 0 });
  });

  it('round-trips a document in a checksummed envelope and leaves no temp files', async () => {
    const { cache } = newCache();
    const doc = makeDocument('panel-001', 7);
    await cache.save(doc);
    const paths = dataDirPaths(dataDir.dir);
    const envelope = JSON.parse(await readFile(paths.displayCache, 'utf8')) as { format: number; sha256: string; payload: string };
    expect(envelope.format).toBe(1);
    expect(envelope.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.parse(envelope.payload)).toEqual(doc);
    expect((await readdir(paths.cacheDir)).sort()).toEqual(['display.json', 'revision.json']);
    expect(await newCache().cache.load('panel-001')).toEqual({ document: doc, highestRevision: 7 });
  });

  it('makes its directory again when it was removed after the first save', async () => {
    const { cache } = newCache();
    await cache.save(makeDocument('panel-001', 1));
    await rm(dataDirPaths(dataDir.dir).cacheDir, { recursive: true });
    await cache.save(makeDocument('panel-001', 2));
    expect(await newCache().cache.load('panel-001')).toEqual({ document: makeDocument('panel-001', 2), highestRevision: 2 });
  });

  it('writes through the disk writer it is given (both files, then one directory fsync)', async () => {
    const calls: string[] = [];
    const recordingSyncWriter: CacheDiskWriter = {
      writeFileAtomic: (path, data, options) => {
        calls.push(`write ${basename(path)}`);
        writeFileAtomicSync(path, data, options);
        return Promise.resolve();
      },
      fsyncDir: (dir) => {
        calls.push(`fsync ${basename(dir)}`);
        fsyncDirSync(dir);
        return Promise.resolve();
      },
    };
    const cache = new LastKnownGoodCache({
      dataDir: dataDir.dir,
      wallClock,
      logger: capturingLogger().logger,
      diskWriter: recordingSyncWriter,
    });
    // The first save finds no cache/ yet (ENOENT), makes it and writes again.
    await cache.save(makeDocument('panel-001', 3));
    expect(calls).toEqual(['write display.json', 'write display.json', 'write revision.json', 'fsync cache']);
    calls.length = 0;
    await cache.save(makeDocument('panel-001', 4));
    expect(calls).toEqual(['write display.json', 'write revision.json', 'fsync cache']);
    expect(await newCache().cache.load('panel-001')).toEqual({ document: makeDocument('panel-001', 4), highestRevision: 4 });
  });

  it('keeps the newest of several quick saves', async () => {
    const { cache } = newCache();
    await Promise.all([1, 2, 3, 4].map((r) => cache.save(makeDocument('panel-001', r))));
    expect((await newCache().cache.load('panel-001')).document?.revision).toBe(4);
  });

  it('coalesces a burst of saves: memory and disk writes stay bounded, every save resolves', async () => {
    const { cache } = newCache();
    const saves = Array.from({ length: 500 }, (_, i) => cache.save(makeDocument('panel-001', i + 1)));
    await Promise.all(saves);
    await cache.flush();
    // The first write starts at once; everything saved while it runs collapses into one more.
    expect(cache.writeCount).toBe(2);
    expect(await newCache().cache.load('panel-001')).toEqual({ document: makeDocument('panel-001', 500), highestRevision: 500 });
  });

  it('rejects the saves a failed write covered, and writes the next one', async () => {
    const { cache } = newCache();
    const paths = dataDirPaths(dataDir.dir);
    await mkdir(paths.cacheDir, { recursive: true });
    // A directory where the file must go makes the rename fail for real.
    await mkdir(paths.displayCache);
    await expect(cache.save(makeDocument('panel-001', 1))).rejects.toThrow();
    await rm(paths.displayCache, { recursive: true });
    await cache.save(makeDocument('panel-001', 2));
    expect((await newCache().cache.load('panel-001')).document?.revision).toBe(2);
  });

  it('moves a file with a bad checksum aside, logs it, and carries on', async () => {
    const { cache } = newCache();
    await cache.save(makeDocument('panel-001', 3));
    const paths = dataDirPaths(dataDir.dir);
    const text = await readFile(paths.displayCache, 'utf8');
    await writeFile(paths.displayCache, text.replace('"revision\\":3', '"revision\\":9'));
    const fresh = newCache();
    const loaded = await fresh.cache.load('panel-001');
    expect(loaded.document).toBeNull();
    // The high-water mark survives in its own file: a replay of revision ≤ 3 stays refused.
    expect(loaded.highestRevision).toBe(3);
    const names = await readdir(paths.cacheDir);
    expect(names).toContain('display.json.corrupt-2026-03-01T12-00-00-000Z');
    expect(names).not.toContain('display.json');
    expect(fresh.entries.find((e) => e.message === 'corrupt cache file moved aside')).toMatchObject({ problem: 'checksum mismatch' });
  });

  it('moves a truncated file aside', async () => {
    const { cache } = newCache();
    await cache.save(makeDocument('panel-001', 3));
    const paths = dataDirPaths(dataDir.dir);
    const text = await readFile(paths.displayCache, 'utf8');
    await writeFile(paths.displayCache, text.slice(0, 100));
    await writeFile(paths.revisionHighWater, '');
    const fresh = newCache();
    expect(await fresh.cache.load('panel-001')).toEqual({ document: null, highestRevision: 0 });
    const aside = (await readdir(paths.cacheDir)).filter((n) => n.includes('.corrupt-'));
    expect(aside.sort()).toEqual(['display.json.corrupt-2026-03-01T12-00-00-000Z', 'revision.json.corrupt-2026-03-01T12-00-00-000Z']);
    expect(fresh.entries.filter((e) => e.level === 'error')).toHaveLength(2);
  });

  it('moves aside a checksummed file whose content is not a document', async () => {
    const paths = dataDirPaths(dataDir.dir);
    await mkdir(paths.cacheDir, { recursive: true });
    await writeFile(paths.displayCache, encodeEnvelope({ hello: 'world' }));
    const fresh = newCache();
    expect((await fresh.cache.load('panel-001')).document).toBeNull();
    expect(fresh.entries[0]?.problem).toMatch(/^content invalid/);
  });

  it('keeps at most three corrupt files', async () => {
    const paths = dataDirPaths(dataDir.dir);
    await mkdir(paths.cacheDir, { recursive: true });
    for (let i = 0; i < 5; i++) {
      wallMs += 1000;
      await writeFile(paths.displayCache, 'garbage');
      await newCache().cache.load('panel-001');
    }
    const aside = (await readdir(paths.cacheDir)).filter((n) => n.startsWith('display.json.corrupt-'));
    expect(aside).toHaveLength(3);
  });

  it('ignores content cached for another panel (re-provisioned data dir)', async () => {
    await newCache().cache.save(makeDocument('panel-old', 40));
    expect(await newCache().cache.load('panel-new')).toEqual({ document: null, highestRevision: 0 });
    // Without a usable config the data dir's own cache is trusted.
    expect((await newCache().cache.load(null)).document?.panelId).toBe('panel-old');
  });

  it('rejects an envelope with a wrong checksum on decode', () => {
    const good = JSON.parse(encodeEnvelope({ a: 1 })) as { sha256: string };
    expect(() => decodeEnvelope(JSON.stringify({ format: 1, sha256: good.sha256, payload: '{"a":2}' }))).toThrow('checksum mismatch');
  });
});
