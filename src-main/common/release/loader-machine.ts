import { z } from 'zod';
import { IsoDateTime } from '../contract/primitives.js';
import { ReleaseVersion } from './manifest.js';

/**
 * The loader's decisions as a pure state machine; src-main/loader/ is the thin fs + process
 * layer around it. The persisted part is `LoaderState` (loader-state.json, written atomically
 * by the loader only); the updater writes only the candidate pointer (candidate.json).
 *
 * ```
 *                    updater installs releases/<v>/ then writes candidate.json = v
 *                                         │
 *            ┌────────────── boot ◀───────┴──────────────────────────────────┐
 *            │  adopt candidate.json (unless current / refused / missing)     │
 *            ▼                                                                │
 *     trial pending? ──yes, attempts left──▶ TRIAL(v) (attempts-1 persisted   │
 *            │                               before launch)                   │
 *            │                 healthy in time │        │ crash / hang        │
 *            │                                 ▼        ▼                     │
 *            │            COMMIT: previous=current,   ROLLBACK: refuse v,     │
 *            │            current=v, trial=none       trial=none ─────────────┤
 *            │                                 │                              │
 *            │ no attempts left (power cut or  ▼                              │
 *            │ loader killed during a trial):  RUN(current) ── exit ──────────┘
 *            │ ROLLBACK (refuse v)                  ▲
 *            ▼                                      │
 *     current installed? ──yes────────────────────▶─┘
 *            │ no: previous installed? ─yes─▶ RUN(previous)
 *            │ no
 *            ▼
 *     RUN(factory bundle in the read-only image)
 * ```
 */
const MAX_REFUSED = 64;

export const LoaderOutcome = z.strictObject({
  kind: z.enum(['trial-started', 'committed', 'rolled-back']),
  version: ReleaseVersion,
  reason: z.string().max(200),
  at: IsoDateTime,
  /** Grows with each outcome, so a reporter can tell a new one from one it already sent. */
  seq: z.number().int().min(0),
});
export type LoaderOutcome = z.infer<typeof LoaderOutcome>;

export const LoaderState = z.strictObject({
  format: z.literal('airpanel-loader/1'),
  /** Committed bundle; null = the factory bundle. */
  current: ReleaseVersion.nullable(),
  /** The committed bundle before `current`, kept for when `current` disappears. */
  previous: ReleaseVersion.nullable(),
  trial: z.strictObject({ version: ReleaseVersion, attemptsLeft: z.number().int().min(0) }).nullable(),
  /** Versions that failed their trial: never started again (most recent last, bounded). */
  refused: z.array(ReleaseVersion).max(MAX_REFUSED),
  lastOutcome: LoaderOutcome.nullable(),
});
export type LoaderState = z.infer<typeof LoaderState>;

export const INITIAL_LOADER_STATE: LoaderState = {
  format: 'airpanel-loader/1',
  current: null,
  previous: null,
  trial: null,
  refused: [],
  lastOutcome: null,
};

/** Written by the updater after a bundle is fully installed and verified. */
export const CandidatePointer = z.strictObject({ version: ReleaseVersion, at: IsoDateTime });
export type CandidatePointer = z.infer<typeof CandidatePointer>;

export type Launch =
  | { kind: 'trial'; version: string }
  | { kind: 'current'; version: string }
  | { kind: 'previous'; version: string }
  | { kind: 'factory' };

export type LoaderEvent =
  /** `installed(v)`: is releases/<v>/ present and complete (checked by the fs layer)? */
  | { type: 'boot'; candidate: string | null; installed: (version: string) => boolean; at: string }
  | { type: 'healthy'; at: string }
  | { type: 'failed'; reason: 'crashed' | 'hung'; detail: string; at: string };

export type LoaderStep =
  | { type: 'launch'; state: LoaderState; launch: Launch; clearCandidatePointer: boolean }
  | { type: 'committed'; state: LoaderState }
  | { type: 'rolled-back'; state: LoaderState }
  | { type: 'ignored'; state: LoaderState };

export interface LoaderMachineOptions {
  /** Boot attempts a candidate gets (a power cut during a trial uses one). Default 2. */
  maxAttempts?: number;
}

function withOutcome(s: LoaderState, kind: LoaderOutcome['kind'], version: string, reason: string, at: string): LoaderState {
  return { ...s, lastOutcome: { kind, version, reason, at, seq: (s.lastOutcome?.seq ?? 0) + 1 } };
}

function refuse(s: LoaderState, version: string, reason: string, at: string): LoaderState {
  const refused = [...s.refused.filter((v) => v !== version), version].slice(-MAX_REFUSED);
  return withOutcome({ ...s, trial: null, refused }, 'rolled-back', version, reason, at);
}

/**
 * One step. `launch` steps tell the fs layer what to start: it must persist `state` before
 * starting it (so a used boot attempt survives a power cut) and clear candidate.json after.
 * `healthy` / `failed` apply to the launch in progress: only a trial reacts to them.
 */
export function loaderStep(state: LoaderState, event: LoaderEvent, options: LoaderMachineOptions = {}): LoaderStep {
  const maxAttempts = options.maxAttempts ?? 2;
  switch (event.type) {
    case 'boot': {
      let s: LoaderState = state;
      const ptr = event.candidate;
      if (ptr !== null && ptr !== s.current && ptr !== s.trial?.version && !s.refused.includes(ptr) && event.installed(ptr)) {
        s = { ...s, trial: { version: ptr, attemptsLeft: maxAttempts } };
      }
      const clearCandidatePointer = ptr !== null;
      if (s.trial) {
        const t = s.trial;
        if (!event.installed(t.version)) {
          s = refuse(s, t.version, 'candidate bundle missing or incomplete', event.at);
        } else if (t.attemptsLeft > 0) {
          s = withOutcome({ ...s, trial: { version: t.version, attemptsLeft: t.attemptsLeft - 1 } }, 'trial-started', t.version, `attempt ${maxAttempts - t.attemptsLeft + 1}`, event.at);
          return { type: 'launch', state: s, launch: { kind: 'trial', version: t.version }, clearCandidatePointer };
        } else {
          s = refuse(s, t.version, 'no boot attempts left (interrupted trial)', event.at);
        }
      }
      // A refused version is never started again, even as a fallback (e.g. an old previous
      // version that was re-offered as a candidate and failed its trial).
      if (s.current !== null && event.installed(s.current) && !s.refused.includes(s.current)) {
        return { type: 'launch', state: s, launch: { kind: 'current', version: s.current }, clearCandidatePointer };
      }
      if (s.previous !== null && event.installed(s.previous) && !s.refused.includes(s.previous)) {
        return { type: 'launch', state: s, launch: { kind: 'previous', version: s.previous }, clearCandidatePointer };
      }
      return { type: 'launch', state: s, launch: { kind: 'factory' }, clearCandidatePointer };
    }
    case 'healthy': {
      const t = state.trial;
      if (!t) return { type: 'ignored', state };
      const s = withOutcome({ ...state, previous: state.current, current: t.version, trial: null }, 'committed', t.version, 'reported healthy', event.at);
      return { type: 'committed', state: s };
    }
    case 'failed': {
      const t = state.trial;
      if (!t) return { type: 'ignored', state };
      return { type: 'rolled-back', state: refuse(state, t.version, `${event.reason}: ${event.detail}`.slice(0, 200), event.at) };
    }
  }
}
