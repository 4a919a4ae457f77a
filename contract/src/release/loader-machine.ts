import { z } from 'zod';
import { IsoDateTime } from '../product/primitives.js';
import { ReleaseVersion } from './manifest.js';

/**
 * The loader's decisions as a pure state machine; src-main/loader/ is the thin fs + process
 * layer around it. The persisted part is `LoaderState` (loader-state.json, written atomically
 * by the loader only); the updater writes only the candidate pointer (candidate.json).
 * Every version the machine names is checked by the fs layer at this boot (`verify`: signed
 * manifest, exact file set, every sha256, no symlink); a version that fails is refused for good.
 *
 * ```
 *                    updater installs releases/<v>/ then writes candidate.json = v
 *                                         │
 *    ┌────────────────────────────── boot ◀─┴─────────────────────────────────────┐
 *    │ last launch of a committed bundle never ended in the loader's sight         │
 *    │ (watchdog or power cut killed both): counts as a crash of it (see CRASH)    │
 *    │ adopt candidate.json unless current / refused; fails verify → REFUSE(v)     │
 *    ▼                                                                             │
 * trial pending? ─yes, verified, attempts left─▶ TRIAL(v) (attempts-1 persisted    │
 *    │  │                                          before launch)                  │
 *    │  └─ fails verify → REFUSE(v)  healthy in time │      │ crash / hang          │
 *    │                                               ▼      ▼                      │
 *    │                        COMMIT: previous=current,   ROLLBACK: refuse v ──────┤
 *    │                        current=v, trial=none                                │
 *    │ no attempts left (power cut or                │                             │
 *    │ loader killed during a trial): ROLLBACK       ▼                             │
 *    ▼                                        RUN(current) ── exit ─┬─ clean ──────┤
 * current verified? ──yes────────────────────▶──┘                   │              │
 *    │ fails verify → REFUSE(current), skipped from then on          ▼              │
 *    │ previous verified? ─yes─▶ RUN(previous) ── exit ──▶ CRASH: N crashes of the │
 *    │ no                                                  same bundle within M ───┤
 *    ▼                                                     minutes → FALL BACK:    │
 * RUN(factory bundle in the read-only image) ── exit ──▶   refuse it (previous,    │
 *                                                          then factory) ──────────┘
 * ```
 */
const MAX_REFUSED = 64;
const MAX_RECENT = 8;

export const LoaderOutcome = z.strictObject({
  /**
   * trial-started / committed / rolled-back (a trial crashed, hung or ran out of attempts);
   * refused: failed the launch-time check (signature, files, runtime), never started;
   * fell-back: a committed bundle crashed too often and was given up.
   */
  kind: z.enum(['trial-started', 'committed', 'rolled-back', 'refused', 'fell-back']),
  version: ReleaseVersion,
  reason: z.string().max(200),
  at: IsoDateTime,
  /** Grows with each outcome, so a reporter can tell a new one from one it already sent. */
  seq: z.number().int().min(0),
});
export type LoaderOutcome = z.infer<typeof LoaderOutcome>;

const LoaderStateV1 = z.strictObject({
  format: z.literal('airpanel-loader/1'),
  current: ReleaseVersion.nullable(),
  previous: ReleaseVersion.nullable(),
  trial: z.strictObject({ version: ReleaseVersion, attemptsLeft: z.number().int().min(0) }).nullable(),
  refused: z.array(ReleaseVersion).max(MAX_REFUSED),
  lastOutcome: LoaderOutcome.nullable(),
});

export const LoaderState = z.strictObject({
  format: z.literal('airpanel-loader/2'),
  /** Committed bundle; null = the factory bundle. */
  current: ReleaseVersion.nullable(),
  /** The committed bundle before `current`, kept for when `current` fails. */
  previous: ReleaseVersion.nullable(),
  trial: z.strictObject({ version: ReleaseVersion, attemptsLeft: z.number().int().min(0) }).nullable(),
  /** Versions that failed their trial, their launch check or by crashing: never started again (most recent last, bounded). */
  refused: z.array(ReleaseVersion).max(MAX_REFUSED),
  lastOutcome: LoaderOutcome.nullable(),
  /** The last few outcomes, oldest first (lastOutcome is the last of them). */
  recent: z.array(LoaderOutcome).max(MAX_RECENT),
  /** A launch the loader has not seen end yet (null version = factory). Set before the start. */
  running: z.strictObject({ version: ReleaseVersion.nullable(), since: IsoDateTime }).nullable(),
  /** Recent crashes of one committed bundle (null version = factory), oldest first. */
  crashes: z.strictObject({ version: ReleaseVersion.nullable(), at: z.array(IsoDateTime).max(32) }).nullable(),
});
export type LoaderState = z.infer<typeof LoaderState>;

export const INITIAL_LOADER_STATE: LoaderState = {
  format: 'airpanel-loader/2',
  current: null,
  previous: null,
  trial: null,
  refused: [],
  lastOutcome: null,
  recent: [],
  running: null,
  crashes: null,
};

/**
 * loader-state.json's text (null: no file) → the state. Format 1 (before launch checks and
 * crash counting) is read as format 2 without crash history: safe, because every version it
 * names is verified again before it runs. Anything unreadable is the initial state (the
 * factory bundle, always runnable).
 */
export function parseLoaderState(text: string | null): LoaderState {
  if (text === null) return INITIAL_LOADER_STATE;
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return INITIAL_LOADER_STATE;
  }
  const v2 = LoaderState.safeParse(raw);
  if (v2.success) return v2.data;
  const v1 = LoaderStateV1.safeParse(raw);
  if (v1.success)
    return {
      ...v1.data,
      format: 'airpanel-loader/2',
      recent: v1.data.lastOutcome ? [v1.data.lastOutcome] : [],
      running: null,
      crashes: null,
    };
  return INITIAL_LOADER_STATE;
}

/** Written by the updater after a bundle is fully installed and verified. */
export const CandidatePointer = z.strictObject({ version: ReleaseVersion, at: IsoDateTime });
export type CandidatePointer = z.infer<typeof CandidatePointer>;

export type Launch =
  { kind: 'trial'; version: string } | { kind: 'current'; version: string } | { kind: 'previous'; version: string } | { kind: 'factory' };

/**
 * The fs layer's launch-time check of releases/<v>/ (see core/update/bundle-check.ts). A
 * failure with `refuse` (the directory is not what was signed) refuses the version for good;
 * without (no kept manifest to check against, or a runtime too old for it) it is only skipped
 * at this boot.
 */
export type LaunchCheck = { ok: true } | { ok: false; reason: string; refuse: boolean };

export type LoaderEvent =
  | { type: 'boot'; candidate: string | null; verify: (version: string) => LaunchCheck; at: string }
  /** The trial reported healthy. */
  | { type: 'healthy'; at: string }
  /** The trial ended before it was healthy, or was killed for missing the deadline. */
  | { type: 'failed'; reason: 'crashed' | 'hung'; detail: string; at: string }
  /** A non-trial launch ended: `crashed` unless it exited with code 0 or the loader stopped it. */
  | { type: 'exited'; crashed: boolean; detail: string; at: string };

export type LoaderStep =
  | { type: 'launch'; state: LoaderState; launch: Launch; clearCandidatePointer: boolean }
  | { type: 'committed'; state: LoaderState }
  | { type: 'rolled-back'; state: LoaderState }
  | { type: 'exited'; state: LoaderState }
  | { type: 'fell-back'; state: LoaderState }
  | { type: 'ignored'; state: LoaderState };

export interface LoaderMachineOptions {
  /** Boot attempts a candidate gets (a power cut during a trial uses one). Default 2. */
  maxAttempts?: number;
  /** A committed bundle that crashes this many times… Default 3. */
  crashLimit?: number;
  /** …within this window is given up (previous, then factory). Default 10 minutes. */
  crashWindowMs?: number;
}

function withOutcome(s: LoaderState, kind: LoaderOutcome['kind'], version: string, reason: string, at: string): LoaderState {
  const outcome: LoaderOutcome = { kind, version, reason: reason.slice(0, 200), at, seq: (s.lastOutcome?.seq ?? 0) + 1 };
  return { ...s, lastOutcome: outcome, recent: [...s.recent, outcome].slice(-MAX_RECENT) };
}

/**
 * Refuses `version` for good. The pointers keep naming it (so the status still says what was
 * committed); a refused version is skipped wherever it is named: current → previous → factory.
 */
function refuse(s: LoaderState, version: string, kind: 'rolled-back' | 'refused' | 'fell-back', reason: string, at: string): LoaderState {
  const refused = [...s.refused.filter((v) => v !== version), version].slice(-MAX_REFUSED);
  const trial = s.trial?.version === version ? null : s.trial;
  const crashes = s.crashes?.version === version ? null : s.crashes;
  return withOutcome({ ...s, trial, refused, crashes }, kind, version, reason, at);
}

/** Records a crash of `version` (null = factory); gives a committed bundle up after too many. */
function crashed(
  s: LoaderState,
  version: string | null,
  detail: string,
  at: string,
  o: Required<LoaderMachineOptions>,
): { state: LoaderState; gaveUp: boolean } {
  const now = Date.parse(at);
  const earlier = s.crashes?.version === version ? s.crashes.at : [];
  // A crash "in the future" (the clock was set back) still counts as recent.
  const times = [...earlier.filter((t) => now - Date.parse(t) < o.crashWindowMs), at].slice(-32);
  const state = { ...s, crashes: { version, at: times } };
  if (version === null || times.length < o.crashLimit) return { state, gaveUp: false };
  const minutes = Math.round(o.crashWindowMs / 60_000);
  return {
    state: refuse(state, version, 'fell-back', `crashed ${times.length} times within ${minutes} min (last: ${detail})`, at),
    gaveUp: true,
  };
}

/**
 * One step. `launch` steps tell the fs layer what to start: it must persist `state` before
 * starting it (so a used boot attempt or an unseen end survives a power cut) and clear
 * candidate.json after. `healthy` / `failed` apply to a trial in progress; `exited` to any
 * other launch.
 */
export function loaderStep(state: LoaderState, event: LoaderEvent, options: LoaderMachineOptions = {}): LoaderStep {
  const o: Required<LoaderMachineOptions> = {
    maxAttempts: options.maxAttempts ?? 2,
    crashLimit: options.crashLimit ?? 3,
    crashWindowMs: options.crashWindowMs ?? 10 * 60_000,
  };
  switch (event.type) {
    case 'boot': {
      let s: LoaderState = state;
      // The launch before this boot ended without the loader seeing it (the watchdog or a
      // power cut took both down). A trial's attempts already count this; others crash.
      if (s.running !== null) {
        const r = s.running;
        s = { ...s, running: null };
        if (!(s.trial && s.trial.version === r.version))
          s = crashed(s, r.version, 'ended without the loader (watchdog or power cut)', event.at, o).state;
      }
      const verdicts = new Map<string, LaunchCheck>();
      const verify = (v: string): LaunchCheck => {
        let verdict = verdicts.get(v);
        if (!verdict) verdicts.set(v, (verdict = event.verify(v)));
        return verdict;
      };
      /** Verified and not refused; a failing version is refused (and reported) on the way. */
      const usable = (v: string | null): v is string => {
        if (v === null || s.refused.includes(v)) return false;
        const verdict = verify(v);
        if (verdict.ok) return true;
        if (verdict.refuse) s = refuse(s, v, 'refused', `refused at launch: ${verdict.reason}`, event.at);
        else if (s.lastOutcome?.version !== v || s.lastOutcome.kind !== 'refused')
          s = withOutcome(s, 'refused', v, `skipped at launch: ${verdict.reason}`, event.at);
        return false;
      };
      const ptr = event.candidate;
      if (ptr !== null && ptr !== s.current && ptr !== s.trial?.version && usable(ptr)) {
        s = { ...s, trial: { version: ptr, attemptsLeft: o.maxAttempts } };
      }
      const clearCandidatePointer = ptr !== null;
      const launch = (l: Launch): LoaderStep => ({
        type: 'launch',
        state: { ...s, running: { version: l.kind === 'factory' ? null : l.version, since: event.at } },
        launch: l,
        clearCandidatePointer,
      });
      if (s.trial) {
        const t = s.trial;
        if (!usable(t.version)) {
          // refused above (or refused earlier): the trial is over
          s = { ...s, trial: null };
        } else if (t.attemptsLeft > 0) {
          s = withOutcome(
            { ...s, trial: { version: t.version, attemptsLeft: t.attemptsLeft - 1 } },
            'trial-started',
            t.version,
            `attempt ${o.maxAttempts - t.attemptsLeft + 1}`,
            event.at,
          );
          return launch({ kind: 'trial', version: t.version });
        } else {
          s = refuse(s, t.version, 'rolled-back', 'no boot attempts left (interrupted trial)', event.at);
        }
      }
      // A refused version is never started again, even as a fallback.
      if (usable(s.current)) return launch({ kind: 'current', version: s.current });
      if (usable(s.previous)) return launch({ kind: 'previous', version: s.previous });
      return launch({ kind: 'factory' });
    }
    case 'healthy': {
      const t = state.trial;
      if (!t) return { type: 'ignored', state };
      // What ran before the trial becomes previous; a refused current is not worth keeping.
      const ok = (v: string | null) => v !== null && !state.refused.includes(v);
      const previous = ok(state.current) ? state.current : ok(state.previous) ? state.previous : null;
      const s = withOutcome(
        { ...state, previous, current: t.version, trial: null, crashes: null },
        'committed',
        t.version,
        'reported healthy',
        event.at,
      );
      return { type: 'committed', state: s };
    }
    case 'failed': {
      const t = state.trial;
      if (!t) return { type: 'ignored', state };
      return {
        type: 'rolled-back',
        state: refuse({ ...state, running: null }, t.version, 'rolled-back', `${event.reason}: ${event.detail}`, event.at),
      };
    }
    case 'exited': {
      const r = state.running;
      if (r === null) return { type: 'ignored', state };
      const s: LoaderState = { ...state, running: null };
      if (!event.crashed) return { type: 'exited', state: s };
      const c = crashed(s, r.version, event.detail, event.at, o);
      return { type: c.gaveUp ? 'fell-back' : 'exited', state: c.state };
    }
  }
}
