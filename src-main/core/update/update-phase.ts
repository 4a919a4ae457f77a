import type { UpdateReport } from '@airpanel/contract';

/**
 * The updater's phases. Each variant carries what is known in that phase; its `type` is the
 * `UpdateReport.phase` the panel publishes in its status (same names on the wire).
 *
 * ```text
 *  at start, from the loader's state:
 *    launched on trial ─────────────────────────▶ trial ── the loader committed it ──▶ committed
 *                                                 (its state file read every 5 s)
 *    the loader rolled back / refused / fell back ▶ rolled-back
 *    the running version was committed ─────────▶ committed
 *    otherwise ─────────────────────────────────▶ idle
 *
 *  a check (scheduled, or the check-update command), from any phase but trial:
 *
 *   (any) ──▶ checking ── nothing new ─────────────────────────▶ (the phase before it, restored)
 *               │  ├──── a newer release skipped by policy ─────▶ idle { skipped }
 *               │  └──── manifest unreachable or refused ───────▶ failed
 *               │ a release to install
 *               ▼
 *           downloading ◀── connection cut: resumes with Range (a few attempts)
 *               │  └──── gave up, or a size/hash mismatch ──────▶ failed
 *               ▼ sha512 ok
 *           verifying ──▶ installing ── install error ──────────▶ failed
 *                             │ installed (atomic)
 *                             ▼
 *                      pending-restart ── the app restarts; the loader starts the
 *                                         candidate, and the next run begins in trial
 * ```
 *
 * `failed` keeps the version it was about (null when the manifest itself failed); the next
 * check starts from it like from any other phase.
 */
export type UpdatePhase =
  /** `skipped`: a newer signed release this panel does not take (not in its rollout share, refused before). */
  | { type: 'idle'; skipped: { version: string; reason: string } | null }
  | { type: 'checking' }
  /** `received` is null until the first progress report. */
  | { type: 'downloading'; version: string; total: number; received: number | null }
  | { type: 'verifying'; version: string; resumedFrom: number }
  | { type: 'installing'; version: string }
  | { type: 'pending-restart'; version: string }
  | { type: 'trial'; version: string }
  /** `at`: when the loader committed it, as it recorded; null when this run saw the commit happen. */
  | { type: 'committed'; version: string; at: string | null }
  | { type: 'rolled-back'; version: string; outcome: 'rolled-back' | 'refused' | 'fell-back'; reason: string; at: string; running: string }
  | { type: 'failed'; version: string | null; error: string };

export const INITIAL_UPDATE_PHASE: UpdatePhase = { type: 'idle', skipped: null };

/** The fields of `UpdateReport` a phase decides (the updater adds `at` and the feed-silence alert). */
export function reportOfPhase(phase: UpdatePhase): Pick<UpdateReport, 'phase' | 'targetVersion' | 'progress' | 'detail'> {
  const report = (targetVersion: string | null, progress: number | null, detail: string | null) => ({
    phase: phase.type,
    targetVersion,
    progress,
    detail: detail?.slice(0, 500) ?? null,
  });
  switch (phase.type) {
    case 'idle':
      return phase.skipped
        ? report(phase.skipped.version, null, `${phase.skipped.version} skipped: ${phase.skipped.reason}`)
        : report(null, null, null);
    case 'checking':
      return report(null, null, null);
    case 'downloading':
      return phase.received === null
        ? report(phase.version, 0, `${phase.total} bytes`)
        : report(phase.version, phase.received / phase.total, `${phase.received}/${phase.total} bytes`);
    case 'verifying':
      return report(phase.version, 1, `sha512 ok${phase.resumedFrom > 0 ? `, resumed at ${phase.resumedFrom}` : ''}`);
    case 'installing':
      return report(phase.version, 1, null);
    case 'pending-restart':
      return report(phase.version, 1, 'installed; restarting into the candidate');
    case 'trial':
      return report(phase.version, null, 'started on trial; commits once healthy');
    case 'committed':
      return report(phase.version, 1, phase.at === null ? 'committed by the loader' : `committed at ${phase.at}`);
    case 'rolled-back':
      return report(
        phase.version,
        null,
        `${phase.outcome === 'fell-back' ? 'fell back: ' : ''}${phase.reason} (at ${phase.at}); running ${phase.running}`,
      );
    case 'failed':
      return report(phase.version, null, phase.error);
  }
}
