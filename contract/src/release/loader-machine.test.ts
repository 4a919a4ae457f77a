import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  INITIAL_LOADER_STATE,
  loaderStep,
  parseLoaderState,
  type LaunchCheck,
  type LoaderState,
  type LoaderStep,
} from './loader-machine.js';

const at = '2026-01-01T00:00:00.000Z';
const all = () => true;
function boot(s: LoaderState, candidate: string | null, installed: (v: string) => boolean = all): LoaderStep {
  return loaderStep(s, {
    type: 'boot',
    candidate,
    verify: (v) => (installed(v) ? { ok: true } : { ok: false, reason: 'incomplete', refuse: true }),
    at,
  });
}
function launched(step: LoaderStep) {
  if (step.type !== 'launch') throw new Error(`expected launch, got ${step.type}`);
  return step;
}

describe('loader state machine', () => {
  it('starts the factory bundle on a fresh panel', () => {
    expect(launched(boot(INITIAL_LOADER_STATE, null)).launch).toEqual({ kind: 'factory' });
  });

  it('adopts a candidate, tries it, commits it when healthy', () => {
    const s1 = launched(boot(INITIAL_LOADER_STATE, '1.0.0'));
    expect(s1.launch).toEqual({ kind: 'trial', version: '1.0.0' });
    expect(s1.clearCandidatePointer).toBe(true);
    expect(s1.state.trial).toEqual({ version: '1.0.0', attemptsLeft: 1 });
    const s2 = loaderStep(s1.state, { type: 'healthy', at });
    expect(s2.type).toBe('committed');
    expect(s2.state.current).toBe('1.0.0');
    expect(s2.state.previous).toBeNull();
    expect(s2.state.trial).toBeNull();
    expect(launched(boot(s2.state, null)).launch).toEqual({ kind: 'current', version: '1.0.0' });
  });

  it('rolls back and refuses a candidate that crashes or hangs', () => {
    const base: LoaderState = { ...INITIAL_LOADER_STATE, current: '1.0.0' };
    for (const reason of ['crashed', 'hung'] as const) {
      const t = launched(boot(base, '2.0.0'));
      const r = loaderStep(t.state, { type: 'failed', reason, detail: 'x', at });
      expect(r.type).toBe('rolled-back');
      expect(r.state.refused).toEqual(['2.0.0']);
      expect(r.state.lastOutcome?.kind).toBe('rolled-back');
      expect(launched(boot(r.state, null)).launch).toEqual({ kind: 'current', version: '1.0.0' });
      // The same candidate written again is not adopted.
      expect(launched(boot(r.state, '2.0.0')).launch).toEqual({ kind: 'current', version: '1.0.0' });
    }
  });

  it('uses up boot attempts across power cuts, then rolls back', () => {
    const base: LoaderState = { ...INITIAL_LOADER_STATE, current: '1.0.0' };
    const a1 = launched(boot(base, '2.0.0'));
    const a2 = launched(boot(a1.state, null)); // power cut during the first trial
    expect(a2.launch).toEqual({ kind: 'trial', version: '2.0.0' });
    const a3 = launched(boot(a2.state, null));
    expect(a3.launch).toEqual({ kind: 'current', version: '1.0.0' });
    expect(a3.state.refused).toContain('2.0.0');
  });

  it('falls back to previous, then factory, when bundles are missing', () => {
    const s: LoaderState = { ...INITIAL_LOADER_STATE, current: '2.0.0', previous: '1.0.0' };
    expect(launched(boot(s, null, (v) => v !== '2.0.0')).launch).toEqual({ kind: 'previous', version: '1.0.0' });
    expect(launched(boot(s, null, () => false)).launch).toEqual({ kind: 'factory' });
    // A candidate whose directory is incomplete is never started.
    expect(launched(boot(s, '3.0.0', (v) => v !== '3.0.0')).launch).toEqual({ kind: 'current', version: '2.0.0' });
  });

  it('never falls back to a previous version that was refused since', () => {
    const s: LoaderState = { ...INITIAL_LOADER_STATE, current: '2.0.0', previous: '1.0.0' };
    const t = launched(boot(s, '1.0.0')); // the old version offered again (a channel rollback)
    expect(t.launch).toEqual({ kind: 'trial', version: '1.0.0' });
    const r = loaderStep(t.state, { type: 'failed', reason: 'crashed', detail: '', at });
    expect(launched(boot(r.state, null, (v) => v !== '2.0.0')).launch).toEqual({ kind: 'factory' });
  });

  it('refuses a version that fails its launch check for good, and says so', () => {
    const s: LoaderState = { ...INITIAL_LOADER_STATE, current: '2.0.0', previous: '1.0.0' };
    const step = launched(
      loaderStep(s, {
        type: 'boot',
        candidate: null,
        verify: (v) => (v === '2.0.0' ? { ok: false, reason: 'main.js does not match', refuse: true } : { ok: true }),
        at,
      }),
    );
    expect(step.launch).toEqual({ kind: 'previous', version: '1.0.0' });
    expect(step.state.refused).toEqual(['2.0.0']);
    expect(step.state.lastOutcome).toMatchObject({
      kind: 'refused',
      version: '2.0.0',
      reason: 'refused at launch: main.js does not match',
    });
    // Even if the files are put back, it is not started again.
    expect(launched(boot(step.state, null)).launch).toEqual({ kind: 'previous', version: '1.0.0' });
  });

  it('only skips a version that may become startable (no kept manifest, runtime too old)', () => {
    const s: LoaderState = { ...INITIAL_LOADER_STATE, current: '2.0.0' };
    const step = launched(
      loaderStep(s, {
        type: 'boot',
        candidate: null,
        verify: () => ({ ok: false, reason: 'no release-manifest.json', refuse: false }),
        at,
      }),
    );
    expect(step.launch).toEqual({ kind: 'factory' });
    expect(step.state.refused).toEqual([]);
    expect(step.state.lastOutcome).toMatchObject({
      kind: 'refused',
      version: '2.0.0',
      reason: expect.stringMatching(/^skipped at launch/),
    });
    // Once it verifies (the same release re-installed with its manifest), it runs again.
    expect(launched(boot(step.state, null)).launch).toEqual({ kind: 'current', version: '2.0.0' });
  });

  it('a committed bundle that crashes N times within M minutes is given up: previous, then factory', () => {
    const o = { crashLimit: 3, crashWindowMs: 10 * 60_000 };
    const t = (min: number) => new Date(Date.parse(at) + min * 60_000).toISOString();
    let s: LoaderState = { ...INITIAL_LOADER_STATE, current: '2.0.0', previous: '1.0.0' };
    const kinds: string[] = [];
    for (let i = 0; i < 6; i++) {
      const l = launched(loaderStep(s, { type: 'boot', candidate: null, verify: () => ({ ok: true }), at: t(i) }, o));
      kinds.push(l.launch.kind);
      const e = loaderStep(l.state, { type: 'exited', crashed: true, detail: 'code 1', at: t(i) }, o);
      s = e.state;
      if (i === 2) {
        expect(e.type).toBe('fell-back');
        expect(s.lastOutcome).toMatchObject({
          kind: 'fell-back',
          version: '2.0.0',
          reason: expect.stringMatching(/crashed 3 times within 10 min/),
        });
      }
    }
    expect(kinds).toEqual(['current', 'current', 'current', 'previous', 'previous', 'previous']);
    expect(s.refused).toEqual(['2.0.0', '1.0.0']);
    expect(s.recent.map((x) => x.kind)).toEqual(['fell-back', 'fell-back']);
    expect(launched(loaderStep(s, { type: 'boot', candidate: null, verify: () => ({ ok: true }), at: t(7) }, o)).launch).toEqual({
      kind: 'factory',
    });
    // The factory bundle is never given up: it is all there is.
    let f = s;
    for (let i = 0; i < 5; i++) {
      const l = launched(loaderStep(f, { type: 'boot', candidate: null, verify: () => ({ ok: true }), at: t(8) }, o));
      expect(l.launch).toEqual({ kind: 'factory' });
      f = loaderStep(l.state, { type: 'exited', crashed: true, detail: 'code 1', at: t(8) }, o).state;
    }
  });

  it('crashes spread wider than the window, clean exits, and a launch the loader never saw end', () => {
    const o = { crashLimit: 3, crashWindowMs: 10 * 60_000 };
    const t = (min: number) => new Date(Date.parse(at) + min * 60_000).toISOString();
    let s: LoaderState = { ...INITIAL_LOADER_STATE, current: '2.0.0' };
    for (const min of [0, 6, 12, 18, 24]) {
      const l = launched(loaderStep(s, { type: 'boot', candidate: null, verify: () => ({ ok: true }), at: t(min) }, o));
      s = loaderStep(l.state, { type: 'exited', crashed: true, detail: 'code 1', at: t(min) }, o).state;
      const c = launched(loaderStep(s, { type: 'boot', candidate: null, verify: () => ({ ok: true }), at: t(min) }, o));
      s = loaderStep(c.state, { type: 'exited', crashed: false, detail: 'code 0', at: t(min) }, o).state;
    }
    expect(s.refused).toEqual([]);
    // The watchdog took the loader down with the app twice, then the app crashed: three.
    const l1 = launched(loaderStep(s, { type: 'boot', candidate: null, verify: () => ({ ok: true }), at: t(40) }, o));
    const l2 = launched(loaderStep(l1.state, { type: 'boot', candidate: null, verify: () => ({ ok: true }), at: t(41) }, o));
    const l3 = launched(loaderStep(l2.state, { type: 'boot', candidate: null, verify: () => ({ ok: true }), at: t(42) }, o));
    expect(l3.launch).toEqual({ kind: 'current', version: '2.0.0' });
    const e = loaderStep(l3.state, { type: 'exited', crashed: true, detail: 'signal SIGSEGV', at: t(42) }, o);
    expect(e.type).toBe('fell-back');
    expect(launched(loaderStep(e.state, { type: 'boot', candidate: null, verify: () => ({ ok: true }), at: t(43) }, o)).launch).toEqual({
      kind: 'factory',
    });
  });

  it('reads a format-1 state file as format 2; anything unreadable is the initial state', () => {
    const v1 = { format: 'airpanel-loader/1', current: '2.0.0', previous: null, trial: null, refused: ['3.0.0'], lastOutcome: null };
    expect(parseLoaderState(JSON.stringify(v1))).toMatchObject({
      format: 'airpanel-loader/2',
      current: '2.0.0',
      refused: ['3.0.0'],
      running: null,
      crashes: null,
    });
    expect(parseLoaderState('{ torn')).toEqual(INITIAL_LOADER_STATE);
    expect(parseLoaderState(null)).toEqual(INITIAL_LOADER_STATE);
    expect(parseLoaderState(JSON.stringify({ ...INITIAL_LOADER_STATE, current: '../../etc' }))).toEqual(INITIAL_LOADER_STATE);
  });

  it('ignores health and failure outside a trial', () => {
    const s: LoaderState = { ...INITIAL_LOADER_STATE, current: '1.0.0' };
    expect(loaderStep(s, { type: 'healthy', at }).type).toBe('ignored');
    expect(loaderStep(s, { type: 'failed', reason: 'crashed', detail: '', at }).state).toEqual(s);
  });
});

describe('loader state machine: properties over random event sequences', () => {
  const versions = ['1.0.0', '2.0.0', '3.0.0'];
  const t = (i: number) => new Date(Date.parse(at) + i * 30_000).toISOString();
  // Per version: passes, fails for good (tampered), or fails for now (e.g. runtime too old).
  const verdicts = fc.record({
    '1.0.0': fc.constantFrom('ok', 'tampered', 'skip'),
    '2.0.0': fc.constantFrom('ok', 'tampered', 'skip'),
    '3.0.0': fc.constantFrom('ok', 'tampered', 'skip'),
  });
  const event = fc.oneof(
    fc.record({
      type: fc.constant('boot' as const),
      candidate: fc.option(fc.constantFrom(...versions), { nil: null }),
      verdicts: fc.oneof(fc.constant({ '1.0.0': 'ok', '2.0.0': 'ok', '3.0.0': 'ok' } as const), verdicts),
    }),
    fc.record({ type: fc.constant('healthy' as const) }),
    fc.record({ type: fc.constant('failed' as const), reason: fc.constantFrom('crashed' as const, 'hung' as const) }),
    fc.record({ type: fc.constant('exited' as const), crashed: fc.boolean() }),
  );

  it('launches only verified bundles (or the factory), never a refused one, refuses only what failed for good, commits only healthy trials', () => {
    fc.assert(
      fc.property(
        fc.array(event, { maxLength: 40 }),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 4 }),
        (events, maxAttempts, crashLimit) => {
          const o = { maxAttempts, crashLimit, crashWindowMs: 5 * 60_000 };
          let s: LoaderState = INITIAL_LOADER_STATE;
          const crashedCommitted = new Set<string>();
          events.forEach((e, i) => {
            const before = s;
            if (e.type === 'boot') {
              const verify = (v: string): LaunchCheck => {
                const k = e.verdicts[v as keyof typeof e.verdicts];
                return k === 'ok' ? { ok: true } : { ok: false, reason: k, refuse: k === 'tampered' };
              };
              const step = loaderStep(s, { type: 'boot', candidate: e.candidate, verify, at: t(i) }, o);
              if (step.type !== 'launch') throw new Error('boot always launches');
              const l = step.launch;
              if (l.kind !== 'factory') {
                expect(verify(l.version).ok).toBe(true);
                expect(step.state.refused).not.toContain(l.version);
              }
              if (l.kind === 'trial') expect(step.state.trial?.version).toBe(l.version);
              expect(step.state.trial === null || step.state.trial.attemptsLeft >= 0).toBe(true);
              expect(step.state.running).toEqual({ version: l.kind === 'factory' ? null : l.version, since: t(i) });
              // What a boot newly refuses: a version that failed for good, an interrupted trial out of
              // attempts, or (for the launch before it that never ended) a crash-looping committed one.
              for (const v of step.state.refused.filter((x) => !before.refused.includes(x))) {
                const ok =
                  e.verdicts[v as keyof typeof e.verdicts] === 'tampered' || before.trial?.version === v || before.running?.version === v;
                expect(ok).toBe(true);
              }
              s = step.state;
            } else {
              const step =
                e.type === 'healthy'
                  ? loaderStep(s, { type: 'healthy', at: t(i) }, o)
                  : e.type === 'failed'
                    ? loaderStep(s, { type: 'failed', reason: e.reason, detail: 'x', at: t(i) }, o)
                    : loaderStep(s, { type: 'exited', crashed: e.crashed, detail: 'x', at: t(i) }, o);
              if (step.type === 'committed') {
                expect(before.trial).not.toBeNull();
                expect(step.state.current).toBe(before.trial?.version);
                const usable = (v: string | null) => v !== null && !before.refused.includes(v);
                expect(step.state.previous).toBe(
                  usable(before.current) ? before.current : usable(before.previous) ? before.previous : null,
                );
              } else if (step.type === 'rolled-back') {
                expect(step.state.refused).toContain(before.trial?.version);
                expect(step.state.current).toBe(before.current);
              } else if (step.type === 'fell-back') {
                expect(e.type === 'exited' && e.crashed).toBe(true);
                const v = before.running?.version;
                expect(v).toBeTruthy();
                expect(step.state.refused).toContain(v);
                crashedCommitted.add(v!);
              } else if (step.type === 'exited') {
                expect(step.state.running).toBeNull();
                expect(step.state.refused).toEqual(before.refused);
              } else {
                expect(step.state).toEqual(before);
              }
              s = step.state;
            }
            expect(s.refused.length).toBe(new Set(s.refused).size);
            expect(s.recent.length).toBeLessThanOrEqual(8);
            if (s.lastOutcome) expect(s.recent.at(-1)).toEqual(s.lastOutcome);
          });
        },
      ),
      { numRuns: 2000 },
    );
  });
});
