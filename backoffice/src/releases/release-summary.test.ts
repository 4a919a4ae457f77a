import { describe, expect, it } from 'vitest';
import type { PanelUpdateState } from '@airpanel/contract/api';
import { panelReleases, releaseProblems, versionsRun } from './release-summary.js';

const at = (minute: number) => `2026-12-02T10:${String(minute).padStart(2, '0')}:00.000Z`;
const update = (
  panelId: string,
  runningVersion: string | null,
  phase: 'committed' | 'failed' | 'rolled-back' | null,
  minute = 0,
): PanelUpdateState => ({
  panelId,
  runningVersion,
  channel: 'stable',
  lastUpdate: phase
    ? { phase, targetVersion: '1.1.0', progress: null, detail: phase === 'committed' ? null : `${phase} on trial`, at: at(minute) }
    : null,
  reportedAt: at(minute),
  noValidManifestSince: null,
});

describe('release summary', () => {
  it('joins update reports and panel summaries by id, preferring the version the panel reports running', () => {
    const rows = panelReleases(
      [update('p1', '1.1.0', 'committed'), update('p9', '1.0.0', null)],
      [
        { id: 'p1', name: 'Main street', firmwareVersion: '1.0.0' },
        { id: 'p2', name: 'Station', firmwareVersion: '1.0.0' },
        { id: 'p3', name: 'New', firmwareVersion: null },
      ],
    );
    expect(rows.map((r) => [r.panelId, r.name, r.version])).toEqual([
      ['p1', 'Main street', '1.1.0'],
      ['p2', 'Station', '1.0.0'],
      ['p3', 'New', null],
      ['p9', 'p9', '1.0.0'],
    ]);
  });

  it('counts the versions the panels run, most first', () => {
    const rows = panelReleases(
      [update('a', '1.1.0', null), update('b', '1.0.0', null), update('c', '1.0.0', null), update('d', null, null)],
      [],
    );
    expect(versionsRun(rows)).toEqual([
      { version: '1.0.0', count: 2 },
      { version: '1.1.0', count: 1 },
      { version: null, count: 1 },
    ]);
  });

  it('lists failed installs, rollbacks and panels without a valid manifest, newest first', () => {
    const frozen = { ...update('c', '1.0.0', null), noValidManifestSince: at(30) };
    const rows = panelReleases(
      [update('a', '1.0.0', 'failed', 10), update('b', '1.0.0', 'rolled-back', 20), update('ok', '1.1.0', 'committed', 40), frozen],
      [],
    );
    const problems = releaseProblems(rows);
    expect(problems.map((p) => [p.kind, p.panelId])).toEqual([
      ['no-valid-manifest', 'c'],
      ['rolled-back', 'b'],
      ['failed', 'a'],
    ]);
    expect(problems[1]).toMatchObject({ targetVersion: '1.1.0', detail: 'rolled-back on trial', at: at(20) });
  });
});
