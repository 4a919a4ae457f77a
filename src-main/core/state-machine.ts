import type { DisplayDocument, PanelStateName } from '@airpanel/contract';
import type { PanelView } from '@airpanel/contract/internal';
import type { MonotonicClock, WallClock } from './clock.js';

/**
 * The panel's state machine.
 *
 * ```text
 *                 cache loaded                   accepted / confirmed
 *   booting ──────────────────▶ showing-cached ───────────────────────▶ live
 *     │  │                           │                                  ▲  │
 *     │  └──────── accepted ─────────┼─────────────────────────────────▶┘  │ no confirmation
 *     │                              │ no confirmation within the window   │ within the window
 *     │                              └─────────────▶ stale ◀───────────────┘
 *     │                                               │
 *     │                                               └── accepted / confirmed ──▶ live
 *     │
 *     └── no cache and fatal config ──▶ maintenance ◀── host fault (from any state)
 * ```
 *
 * - booting: nothing to show yet; the renderer shows a neutral splash. With no cache and the
 *   backend unreachable the panel stays here: that is a network problem, not a fault, and the
 *   panel recovers by itself when the backend answers.
 * - showing-cached: the last known good content from disk, not yet confirmed in this run.
 * - live: content confirmed by the backend within the freshness window.
 * - stale: still the last known good content, with a badge saying since when the backend last
 *   confirmed it (or issued it, when it was not confirmed in this run).
 * - maintenance: terminal for this run (config is read at boot; host faults are
 *   unrecoverable by definition); a restart leaves it.
 *
 * Freshness is measured on the monotonic clock only: a wall-clock jump (NTP step, RTC reset)
 * can neither make live content stale nor stale content live. The wall clock only stamps
 * `since` for humans.
 */
export type PanelState =
  | { name: 'booting'; reason: string }
  | { name: 'showing-cached'; reason: string; document: DisplayDocument }
  | { name: 'live'; reason: string; document: DisplayDocument }
  | { name: 'stale'; reason: string; document: DisplayDocument; sinceWallMs: number }
  | { name: 'maintenance'; reason: string; code: string };

export interface StateTransition {
  from: PanelStateName;
  to: PanelStateName;
  reason: string;
  atWallMs: number;
}

export interface PanelStateMachineOptions {
  monotonicClock: MonotonicClock;
  wallClock: WallClock;
  freshnessWindowMs: number;
  onTransition: (transition: StateTransition, state: PanelState) => void;
}

export class PanelStateMachine {
  private current: PanelState = { name: 'booting', reason: 'started' };
  /** Monotonic time of the last confirmation (or of showing the cache, which starts the window). */
  private freshSinceMono: number | null = null;
  /** Wall time of the backend's last confirmation in this run (what the stale badge shows); null before one. */
  private confirmedWallMs: number | null = null;
  private readonly options: PanelStateMachineOptions;

  constructor(options: PanelStateMachineOptions) {
    this.options = options;
  }

  get state(): PanelState {
    return this.current;
  }

  get document(): DisplayDocument | null {
    return 'document' in this.current ? this.current.document : null;
  }

  /** booting → showing-cached. */
  showCached(document: DisplayDocument, reason: string): void {
    if (this.current.name !== 'booting') return;
    this.freshSinceMono = this.options.monotonicClock.now();
    this.enter({ name: 'showing-cached', reason, document });
  }

  /** A new document from the backend: shown at once, and live. */
  accept(document: DisplayDocument, reason: string): void {
    if (this.current.name === 'maintenance') return;
    this.freshSinceMono = this.options.monotonicClock.now();
    this.confirmedWallMs = this.options.wallClock.now();
    if (this.current.name === 'live') {
      // Same state, new content: no transition, the view still changes.
      this.current = { name: 'live', reason: this.current.reason, document };
      return;
    }
    this.enter({ name: 'live', reason, document });
  }

  /** The backend vouched again for the revision on screen. */
  confirm(reason: string): void {
    const state = this.current;
    if (state.name === 'booting' || state.name === 'maintenance') return;
    this.freshSinceMono = this.options.monotonicClock.now();
    this.confirmedWallMs = this.options.wallClock.now();
    if (state.name !== 'live') this.enter({ name: 'live', reason, document: state.document });
  }

  /** live / showing-cached → stale once the window has passed without confirmation. */
  evaluateFreshness(): void {
    const state = this.current;
    if (state.name !== 'live' && state.name !== 'showing-cached') return;
    const remaining = this.msUntilStale();
    if (remaining === null || remaining > 0) return;
    const seconds = Math.round(this.options.freshnessWindowMs / 1000);
    this.enter({
      name: 'stale',
      reason:
        state.name === 'live'
          ? `no confirmation from the backend for ${seconds}s`
          : `cached content not confirmed within ${seconds}s of boot`,
      document: state.document,
      // "Not updated since": the backend's last word on this content. Unconfirmed in this run
      // (cached content after a boot), that is when the backend issued it.
      sinceWallMs: this.confirmedWallMs ?? Date.parse(state.document.issuedAt),
    });
  }

  /** Milliseconds until content turns stale; null when no freshness timer applies. */
  msUntilStale(): number | null {
    const state = this.current;
    if ((state.name !== 'live' && state.name !== 'showing-cached') || this.freshSinceMono === null) return null;
    return this.freshSinceMono + this.options.freshnessWindowMs - this.options.monotonicClock.now();
  }

  /** → maintenance with a technician's code; the first fault wins. */
  fault(code: string, reason: string): void {
    if (this.current.name === 'maintenance') return;
    this.freshSinceMono = null;
    this.enter({ name: 'maintenance', reason, code });
  }

  private enter(next: PanelState): void {
    const from = this.current.name;
    this.current = next;
    this.options.onTransition({ from, to: next.name, reason: next.reason, atWallMs: this.options.wallClock.now() }, next);
  }
}

/** What the renderer must draw for a state. */
export function viewOfState(state: PanelState): PanelView {
  switch (state.name) {
    case 'booting':
      return { kind: 'booting' };
    case 'showing-cached':
    case 'live':
      return { kind: 'content', document: state.document, stale: null };
    case 'stale':
      return { kind: 'content', document: state.document, stale: { since: new Date(state.sinceWallMs).toISOString() } };
    case 'maintenance':
      return { kind: 'maintenance', code: state.code };
  }
}

/** True when two views draw the same thing (the renderer need not be told). */
export function sameView(a: PanelView, b: PanelView): boolean {
  if (a.kind !== b.kind) return false;
  if (a.kind === 'content' && b.kind === 'content') {
    return a.document === b.document && a.stale?.since === b.stale?.since && a.ownMeasurement?.since === b.ownMeasurement?.since;
  }
  if (a.kind === 'maintenance' && b.kind === 'maintenance') return a.code === b.code;
  return true;
}
