// Corrupt or truncated cache and config, generated: random bytes, truncation at random
// offsets, a wrong checksum, valid JSON of the wrong shape, another panel's content. Each
// combination boots a whole PanelCore (no backend reachable) and must show the right view:
// the cached content, the maintenance CFG code, or the neutral booting screen. Never a crash.
// 150 combinations in `npm test`, 2000 in `npm run test:faults`.
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import fc from 'fast-check';
import got from 'got';
import { connect } from 'mqtt';
import { describe, expect, it } from 'vitest';
import type { PanelView } from '@airpanel/contract/internal';
import { encodeEnvelope } from '@airpanel/panel/core/cache';
import { loadPanelConfig } from '@airpanel/panel/core/config';
import { PanelCore } from '@airpanel/panel/core/panel-core';
import {
  capturingLogger,
  forRunLength,
  makeConfig,
  makeDocument,
  makeTempDir,
  RecordingHostActions,
  reportFigures,
  useCleanups,
} from '../harness/index.js';
import { API_PREFIX } from '@airpanel/contract/api';

const cleanups = useCleanups();
const RUN = forRunLength({ short: { combinations: 150, timeoutMs: 60_000 }, long: { combinations: 2_000, timeoutMs: 600_000 } });

const PANEL_ID = 'panel-corrupt';
const REVISION = 41;

type Damage =
  | { kind: 'valid' }
  | { kind: 'missing' }
  | { kind: 'random-bytes'; bytes: Uint8Array }
  | { kind: 'truncated'; fraction: number }
  | { kind: 'wrong-checksum'; at: number }
  | { kind: 'wrong-schema'; value: unknown };

const wrongShapes = fc.constantFrom<unknown>(
  {},
  [],
  null,
  42,
  'text',
  { format: 1 },
  { hello: 'world' },
  { schemaVersion: 1, panelId: PANEL_ID },
);

function damage(kinds: Damage['kind'][]): fc.Arbitrary<Damage> {
  const all: Record<Damage['kind'], fc.Arbitrary<Damage>> = {
    valid: fc.constant({ kind: 'valid' }),
    missing: fc.constant({ kind: 'missing' }),
    'random-bytes': fc.uint8Array({ minLength: 0, maxLength: 600 }).map((bytes) => ({ kind: 'random-bytes', bytes })),
    truncated: fc.double({ min: 0, max: 0.999, noNaN: true }).map((fraction) => ({ kind: 'truncated', fraction })),
    'wrong-checksum': fc.nat().map((at) => ({ kind: 'wrong-checksum', at })),
    'wrong-schema': wrongShapes.map((value) => ({ kind: 'wrong-schema', value })),
  };
  return fc.oneof(...kinds.map((k) => all[k]));
}

/** The bytes a damaged file holds; null = no file. */
function damagedBytes(d: Damage, good: string, envelope: boolean): Buffer | null {
  switch (d.kind) {
    case 'valid':
      return Buffer.from(good);
    case 'missing':
      return null;
    case 'random-bytes':
      return Buffer.from(d.bytes);
    case 'truncated':
      return Buffer.from(good).subarray(0, Math.floor(good.length * d.fraction));
    case 'wrong-checksum': {
      if (!envelope) return Buffer.from(good.replace(PANEL_ID, 'panel-c0rrupt'));
      // One character of the payload changes, the recorded digest does not.
      const parsed = JSON.parse(good) as { format: 1; sha256: string; payload: string };
      const i = d.at % parsed.payload.length;
      const c = parsed.payload[i] === 'a' ? 'b' : 'a';
      return Buffer.from(JSON.stringify({ ...parsed, payload: parsed.payload.slice(0, i) + c + parsed.payload.slice(i + 1) }));
    }
    case 'wrong-schema':
      return Buffer.from(envelope ? encodeEnvelope(d.value) : JSON.stringify(d.value));
  }
}

/** What the panel must show for a config file's bytes and whether the cached document is usable. */
function expectedView(
  configBytes: Buffer | null,
  cacheUsable: boolean,
): { kind: 'content'; revision: number } | { kind: 'booting' } | { kind: 'maintenance'; code: string } {
  if (cacheUsable) return { kind: 'content', revision: REVISION };
  if (configBytes === null) return { kind: 'maintenance', code: 'CFG-1' };
  let raw: unknown;
  try {
    raw = JSON.parse(configBytes.toString('utf8'));
  } catch {
    return { kind: 'maintenance', code: 'CFG-2' };
  }
  // Only the untouched config is valid; every other JSON value is of the wrong shape.
  return JSON.stringify(raw) === JSON.stringify(validConfig()) ? { kind: 'booting' } : { kind: 'maintenance', code: 'CFG-3' };
}

function validConfig() {
  // Nothing listens on port 9 of the loopback: the backend is unreachable at once.
  return makeConfig(PANEL_ID, `http://127.0.0.1:9${API_PREFIX}`, 'mqtt://127.0.0.1:9');
}

function simpleView(v: PanelView): unknown {
  if (v.kind === 'content') return { kind: 'content', revision: v.document.revision, stale: v.stale };
  if (v.kind === 'maintenance') return { kind: 'maintenance', code: v.code };
  return { kind: v.kind };
}

/** Runs `numRuns` generated combinations; returns how often each view was expected. */
async function runCorruptFileCombinations(numRuns: number, seed?: number): Promise<Map<string, number>> {
  const seen = new Map<string, number>();
  const started = performance.now();
  await fc.assert(
    fc.asyncProperty(
      damage(['valid', 'missing', 'random-bytes', 'truncated', 'wrong-schema']),
      damage(['valid', 'missing', 'random-bytes', 'truncated', 'wrong-checksum', 'wrong-schema']),
      damage(['valid', 'missing', 'random-bytes', 'truncated', 'wrong-checksum', 'wrong-schema']),
      fc.boolean(),
      async (configDamage, displayDamage, revisionDamage, otherPanel) => {
        const dir = await makeTempDir(cleanups, 'airpanel-faults-corrupt-');
        const configBytes = damagedBytes(configDamage, JSON.stringify(validConfig()), false);
        if (configBytes) await writeFile(join(dir, 'panel.json'), configBytes);
        await mkdir(join(dir, 'cache'));
        // Content cached for another panel (a re-provisioned data dir) is not this panel's.
        const cachedPanel = otherPanel ? 'panel-other' : PANEL_ID;
        const displayBytes = damagedBytes(displayDamage, encodeEnvelope(makeDocument(cachedPanel, REVISION, 'bad')), true);
        if (displayBytes) await writeFile(join(dir, 'cache', 'display.json'), displayBytes);
        const revisionBytes = damagedBytes(revisionDamage, encodeEnvelope({ panelId: cachedPanel, revision: REVISION + 5 }), true);
        if (revisionBytes) await writeFile(join(dir, 'cache', 'revision.json'), revisionBytes);

        const config = await loadPanelConfig(dir);
        // Content of another panel is ignored when panel.json names this one; without a
        // usable panel.json the data dir's own cache is trusted (it is all there is).
        const cacheUsable = displayDamage.kind === 'valid' && (!otherPanel || !config.ok);
        const expected = expectedView(configBytes, cacheUsable);
        const { logger } = capturingLogger();
        const core = new PanelCore({
          dataDir: dir,
          config,
          mqttConnect: connect,
          http: got,
          hostActions: new RecordingHostActions(),
          logger,
          firmwareVersion: '1.0.0-faults',
          tuning: {
            firstPollMaxDelayMs: 10,
            pollIntervalMs: 50,
            reconnectBackoff: { minMs: 10, baseMs: 20, maxMs: 50 },
            freshnessWindowMs: 60_000,
          },
        });
        try {
          await core.start();
          // Let the unreachable backend fail a few times: the view must not change.
          await new Promise((r) => setTimeout(r, 30));
          const view = simpleView(core.getView());
          expect(view).toEqual(expected.kind === 'content' ? { ...expected, stale: null } : expected);
          // Every damaged cache file that existed was moved aside (none is read twice).
          const names = await readdir(join(dir, 'cache'));
          for (const [name, d] of [
            ['display.json', displayDamage],
            ['revision.json', revisionDamage],
          ] as const) {
            if (d.kind === 'valid' || d.kind === 'missing') continue;
            expect(
              names.some((n) => n.startsWith(`${name}.corrupt-`)),
              `${name} (${d.kind}) moved aside`,
            ).toBe(true);
          }
        } finally {
          await core.stop();
        }
        const key = `${expected.kind}${'code' in expected ? ` ${expected.code}` : ''}`;
        seen.set(key, (seen.get(key) ?? 0) + 1);
      },
    ),
    { numRuns, ...(seed === undefined ? {} : { seed }) },
  );
  reportFigures('faults', `corrupt cache and config (${numRuns} combinations)`, {
    elapsed: performance.now() - started,
    views: JSON.stringify(Object.fromEntries(seen)),
  });
  return seen;
}

describe('corrupt or truncated cache and config', () => {
  it(
    `boots to the right view for every generated combination, without a crash (${RUN.combinations} combinations)`,
    async () => {
      const seen = await runCorruptFileCombinations(RUN.combinations);
      // The generator reached every outcome.
      expect([...seen.keys()].sort()).toEqual(['booting', 'content', 'maintenance CFG-1', 'maintenance CFG-2', 'maintenance CFG-3']);
    },
    RUN.timeoutMs,
  );
});
