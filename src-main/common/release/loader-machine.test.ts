import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { INITIAL_LOADER_STATE, loaderStep, type LoaderState, type LoaderStep } from './loader-machine.js';

const at = '2026-01-01T00:00:00.000Z';
const all = () => true;
function boot(s: LoaderState, candidate: string | null, installed: (v: string) => boolean = all): LoaderStep {
  return loaderStep(s, { type: 'boot', candidate, installed, at });
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

  it('ignores health and failure outside a trial', () => {
    const s: LoaderState = { ...INITIAL_LOADER_STATE, current: '1.0.0' };
    expect(loaderStep(s, { type: 'healthy', at }).type).toBe('ignored');
    expect(loaderStep(s, { type: 'failed', reason: 'crashed', detail: '', at }).state).toEqual(s);
  });
});

describe('loader state machine: properties over random event sequences', () => {
  const versions = ['1.0.0', '2.0.0', '3.0.0'];
  const event = fc.oneof(
    fc.record({ type: fc.constant('boot' as const), candidate: fc.option(fc.constantFrom(...versions), { nil: null }), installed: fc.oneof(fc.constant(versions), fc.subarray(versions)) }),
    fc.record({ type: fc.constant('healthy' as const) }),
    fc.record({ type: fc.constant('failed' as const), reason: fc.constantFrom('crashed' as const, 'hung' as const) }),
  );

  it('launches only installed bundles (or the factory), never a refused one, and commits only healthy trials', () => {
    fc.assert(fc.property(fc.array(event, { maxLength: 40 }), fc.integer({ min: 1, max: 3 }), (events, maxAttempts) => {
      let s: LoaderState = INITIAL_LOADER_STATE;
      for (const e of events) {
        if (e.type === 'boot') {
          const installed = new Set(e.installed);
          const step = loaderStep(s, { type: 'boot', candidate: e.candidate, installed: (v) => installed.has(v), at }, { maxAttempts });
          if (step.type !== 'launch') throw new Error('boot always launches');
          const l = step.launch;
          if (l.kind !== 'factory') {
            expect(installed.has(l.version)).toBe(true);
            expect(step.state.refused).not.toContain(l.version);
          }
          if (l.kind === 'trial') expect(step.state.trial?.version).toBe(l.version);
          expect(step.state.trial === null || step.state.trial.attemptsLeft >= 0).toBe(true);
          s = step.state;
        } else {
          const before = s;
          const step = loaderStep(s, e.type === 'healthy' ? { type: 'healthy', at } : { type: 'failed', reason: e.reason, detail: 'x', at }, { maxAttempts });
          if (step.type === 'committed') {
            expect(before.trial).not.toBeNull();
            expect(step.state.current).toBe(before.trial?.version);
            expect(step.state.previous).toBe(before.current);
          } else if (step.type === 'rolled-back') {
            expect(step.state.refused).toContain(before.trial?.version);
            expect(step.state.current).toBe(before.current);
          } else {
            expect(step.state).toEqual(before);
          }
          s = step.state;
        }
        // Never committed and refused at once.
        if (s.current !== null) expect(s.refused).not.toContain(s.current);
      }
    }), { numRuns: 1000 });
  });
});
