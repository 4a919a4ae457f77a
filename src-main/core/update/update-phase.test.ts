import { describe, expect, expectTypeOf, it } from 'vitest';
import type { UpdateReport } from '@airpanel/contract';
import { INITIAL_UPDATE_PHASE, reportOfPhase, type UpdatePhase } from './update-phase.js';

describe('reportOfPhase', () => {
  it('uses the contract phase names, no more and no fewer', () => {
    expectTypeOf<UpdatePhase['type']>().toEqualTypeOf<UpdateReport['phase']>();
  });

  it('reports each phase with its version, progress and detail', () => {
    const cases: [UpdatePhase, [string | null, number | null, string | null]][] = [
      [INITIAL_UPDATE_PHASE, [null, null, null]],
      [{ type: 'idle', skipped: { version: '2.0.0', reason: 'not-in-rollout' } }, ['2.0.0', null, '2.0.0 skipped: not-in-rollout']],
      [{ type: 'checking' }, [null, null, null]],
      [{ type: 'downloading', version: '2.0.0', total: 4000, received: null }, ['2.0.0', 0, '4000 bytes']],
      [{ type: 'downloading', version: '2.0.0', total: 4000, received: 1000 }, ['2.0.0', 0.25, '1000/4000 bytes']],
      [{ type: 'verifying', version: '2.0.0', resumedFrom: 0 }, ['2.0.0', 1, 'sha512 ok']],
      [{ type: 'verifying', version: '2.0.0', resumedFrom: 512 }, ['2.0.0', 1, 'sha512 ok, resumed at 512']],
      [{ type: 'installing', version: '2.0.0' }, ['2.0.0', 1, null]],
      [{ type: 'pending-restart', version: '2.0.0' }, ['2.0.0', 1, 'installed; restarting into the candidate']],
      [{ type: 'trial', version: '2.0.0' }, ['2.0.0', null, 'started on trial; commits once healthy']],
      [{ type: 'committed', version: '2.0.0', at: '2026-01-01T00:00:00.000Z' }, ['2.0.0', 1, 'committed at 2026-01-01T00:00:00.000Z']],
      [{ type: 'committed', version: '2.0.0', at: null }, ['2.0.0', 1, 'committed by the loader']],
      [
        { type: 'rolled-back', version: '2.0.0', outcome: 'rolled-back', reason: 'trial crashed', at: 'T', running: '1.0.0' },
        ['2.0.0', null, 'trial crashed (at T); running 1.0.0'],
      ],
      [
        { type: 'rolled-back', version: '2.0.0', outcome: 'fell-back', reason: 'crashed 3 times', at: 'T', running: '1.0.0' },
        ['2.0.0', null, 'fell back: crashed 3 times (at T); running 1.0.0'],
      ],
      [{ type: 'failed', version: null, error: 'manifest: HTTP 500' }, [null, null, 'manifest: HTTP 500']],
    ];
    for (const [phase, [targetVersion, progress, detail]] of cases) {
      expect(reportOfPhase(phase)).toEqual({ phase: phase.type, targetVersion, progress, detail });
    }
  });

  it('caps the detail at the contract limit', () => {
    expect(reportOfPhase({ type: 'failed', version: '2.0.0', error: 'e'.repeat(800) }).detail).toHaveLength(500);
  });
});
