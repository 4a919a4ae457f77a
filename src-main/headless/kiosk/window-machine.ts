/**
 * The kiosk window's life in the Node kiosk host, as a pure state machine: each event gives
 * the next state and the reason, or null when the event does not apply in that state (a late
 * event of a window already replaced). The host carries out what each state asks for.
 *
 *                  launched               painted
 *   ┌──────────┐ ──────────▶ ┌─────────┐ ─────────▶ ┌─────────┐
 *   │ starting │             │ loading │            │ showing │
 *   └──────────┘             └─────────┘            └─────────┘
 *        │ fault                  │ fault, or         │ fault: browser exited, page
 *        │ (no start)             │ not painted       │ crashed / closed, no answer
 *        ▼                        ▼ in time           ▼
 *   ┌──────────────────────────────────────────────────┐
 *   │ recovering: window closed; the crash-loop policy │── restart-due ──▶ starting
 *   │ restarts it after a backoff (1 s, 2 s, … ≤ 30 s) │
 *   └──────────────────────────────────────────────────┘
 *        │ maintenance (3rd fault in 5 min: RND-1 / RND-2;
 *        │   from any state: a bundle without renderer, APP-1)
 *        ▼
 *   ┌─────────────┐  window gone / no answer → maintenance (window down), relaunched
 *   │ maintenance │  showing the same screen after a pause
 *   └─────────────┘  operator reload → starting (breaker reset)
 *
 *   any state ── stop ──▶ stopped
 */
export type WindowState =
  | { phase: 'starting'; since: number }
  | { phase: 'loading'; since: number }
  | { phase: 'showing'; since: number }
  | { phase: 'recovering'; since: number; fault: string }
  | { phase: 'maintenance'; since: number; code: string; windowUp: boolean }
  | { phase: 'stopped'; since: number };

export type WindowEvent =
  | { type: 'launched' }
  | { type: 'painted' }
  | { type: 'fault'; detail: string }
  | { type: 'restart-due' }
  /** The crash-loop breaker tripped (RND-1, RND-2), or the bundle cannot show the panel at all (APP-1). */
  | { type: 'maintenance'; code: string }
  | { type: 'maintenance-shown' }
  | { type: 'operator-reload' }
  | { type: 'stop' };

export interface WindowTransition {
  state: WindowState;
  reason: string;
}

export function windowStep(state: WindowState, event: WindowEvent, now: number): WindowTransition | null {
  if (state.phase === 'stopped') return null;
  switch (event.type) {
    case 'stop':
      return { state: { phase: 'stopped', since: now }, reason: 'the host is stopping' };
    case 'operator-reload':
      return { state: { phase: 'starting', since: now }, reason: 'operator reload: the breaker is reset and the panel loaded again' };
    case 'maintenance':
      return {
        state: { phase: 'maintenance', since: now, code: event.code, windowUp: false },
        reason: `maintenance ${event.code}: the static maintenance screen replaces the panel`,
      };
    case 'launched':
      return state.phase === 'starting'
        ? { state: { phase: 'loading', since: now }, reason: 'chromium is up and the panel page requested' }
        : null;
    case 'painted':
      return state.phase === 'loading'
        ? { state: { phase: 'showing', since: now }, reason: 'the renderer reported its first painted frame' }
        : null;
    case 'maintenance-shown':
      return state.phase === 'maintenance' ? { state: { ...state, windowUp: true }, reason: 'the maintenance screen is on' } : null;
    case 'fault':
      if (state.phase === 'maintenance') {
        return state.windowUp
          ? { state: { ...state, windowUp: false, since: now }, reason: `maintenance window lost: ${event.detail}` }
          : null;
      }
      if (state.phase === 'recovering') return null;
      return { state: { phase: 'recovering', since: now, fault: event.detail }, reason: `window fault in ${state.phase}: ${event.detail}` };
    case 'restart-due':
      return state.phase === 'recovering'
        ? { state: { phase: 'starting', since: now }, reason: `restarting the window after: ${state.fault}` }
        : null;
  }
}
