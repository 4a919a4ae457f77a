import { describe, expect, it } from 'vitest';
import { PanelStateMachine, type StateTransition, viewOfState } from './state-machine.js';
import { makeDocument } from './testing/fixtures.js';

/** Stands in for the monotonic clock in this unit test of the state machine only. */
class FakeMonotonicClock {
  constructor(private ms = 1_000) {}
  now(): number {
    return this.ms;
  }
  advance(ms: number): void {
    this.ms += ms;
  }
}

/** Stands in for the wall clock in this unit test; it may jump either way, like NTP. */
class FakeWallClock {
  constructor(private ms = Date.parse('2026-05-01T08:00:00.000Z')) {}
  now(): number {
    return this.ms;
  }
  jump(ms: number): void {
    this.ms += ms;
  }
}

const WINDOW_MS = 60_000;

function setup() {
  const mono = new FakeMonotonicClock();
  const wall = new FakeWallClock();
  const transitions: StateTransition[] = [];
  const machine = new PanelStateMachine({
    monotonicClock: mono,
    wallClock: wall,
    freshnessWindowMs: WINDOW_MS,
    onTransition: (t) => transitions.push(t),
  });
  return { mono, wall, machine, transitions };
}

describe('PanelStateMachine', () => {
  it('booting → showing-cached → live → stale → live, with a reason on each transition', () => {
    const { mono, machine, transitions } = setup();
    expect(machine.state.name).toBe('booting');
    machine.showCached(makeDocument('panel-001', 3), 'cache');
    machine.accept(makeDocument('panel-001', 4), 'revision 4 via mqtt');
    mono.advance(WINDOW_MS);
    machine.evaluateFreshness();
    machine.confirm('revision 4 confirmed via http');
    expect(transitions.map((t) => `${t.from}→${t.to}`)).toEqual([
      'booting→showing-cached',
      'showing-cached→live',
      'live→stale',
      'stale→live',
    ]);
    expect(transitions.every((t) => t.reason.length > 0)).toBe(true);
    expect(transitions[2]!.reason).toBe('no confirmation from the backend for 60s');
  });

  it('turns cached content stale when nothing confirms it within the window after boot', () => {
    const { mono, machine } = setup();
    machine.showCached(makeDocument('panel-001', 3), 'cache');
    mono.advance(WINDOW_MS - 1);
    machine.evaluateFreshness();
    expect(machine.state.name).toBe('showing-cached');
    mono.advance(1);
    machine.evaluateFreshness();
    expect(machine.state.name).toBe('stale');
  });

  it('stays booting (neutral splash) without cache or backend: no fault', () => {
    const { mono, machine, transitions } = setup();
    mono.advance(10 * WINDOW_MS);
    machine.evaluateFreshness();
    machine.confirm('nothing shown, nothing to confirm');
    expect(machine.state.name).toBe('booting');
    expect(transitions).toEqual([]);
  });

  it('a wall-clock jump forwards does not make live content stale', () => {
    const { wall, machine } = setup();
    machine.accept(makeDocument('panel-001', 1), 'r1');
    wall.jump(365 * 86_400_000);
    machine.evaluateFreshness();
    expect(machine.state.name).toBe('live');
    expect(machine.msUntilStale()).toBe(WINDOW_MS);
  });

  it("stale since the backend's last confirmation, not since the window ran out; cached content since it was issued", () => {
    const { mono, wall, machine } = setup();
    const cached = makeDocument('panel-001', 3);
    machine.showCached(cached, 'cache');
    mono.advance(WINDOW_MS);
    machine.evaluateFreshness();
    expect(machine.state).toMatchObject({ name: 'stale', sinceWallMs: Date.parse(cached.issuedAt) });
    machine.confirm('poll 304');
    const confirmedAt = wall.now();
    mono.advance(WINDOW_MS / 2);
    wall.jump(WINDOW_MS / 2);
    machine.confirm('poll 304 again');
    mono.advance(WINDOW_MS);
    wall.jump(WINDOW_MS);
    machine.evaluateFreshness();
    expect(machine.state).toMatchObject({ name: 'stale', sinceWallMs: confirmedAt + WINDOW_MS / 2 });
  });

  it('a wall-clock jump backwards neither delays staleness nor makes stale content live', () => {
    const { mono, wall, machine } = setup();
    machine.accept(makeDocument('panel-001', 1), 'r1');
    wall.jump(-86_400_000);
    mono.advance(WINDOW_MS);
    machine.evaluateFreshness();
    expect(machine.state.name).toBe('stale');
    const since = machine.state.name === 'stale' ? machine.state.sinceWallMs : null;
    // The badge's time is the last confirmation's, stamped before the jump.
    expect(since).toBe(Date.parse('2026-05-01T08:00:00.000Z'));
    wall.jump(-3_600_000);
    machine.evaluateFreshness();
    wall.jump(+30 * 86_400_000);
    machine.evaluateFreshness();
    expect(machine.state.name).toBe('stale');
  });

  it('a confirmation restarts the window on the monotonic clock', () => {
    const { mono, machine } = setup();
    machine.accept(makeDocument('panel-001', 1), 'r1');
    mono.advance(WINDOW_MS - 10);
    machine.confirm('304');
    mono.advance(WINDOW_MS - 10);
    machine.evaluateFreshness();
    expect(machine.state.name).toBe('live');
  });

  it('a new document while live changes content without a transition', () => {
    const { machine, transitions } = setup();
    machine.accept(makeDocument('panel-001', 1), 'r1');
    machine.accept(makeDocument('panel-001', 2, 'bad'), 'r2');
    expect(transitions).toHaveLength(1);
    expect(machine.document?.revision).toBe(2);
  });

  it('maintenance wins over everything and stays', () => {
    const { machine, transitions } = setup();
    machine.accept(makeDocument('panel-001', 1), 'r1');
    machine.fault('RND-1', 'renderer crashed 5 times');
    machine.accept(makeDocument('panel-001', 2), 'r2');
    machine.confirm('304');
    machine.fault('CFG-1', 'later fault');
    expect(machine.state).toEqual({ name: 'maintenance', reason: 'renderer crashed 5 times', code: 'RND-1' });
    expect(transitions.at(-1)).toMatchObject({ from: 'live', to: 'maintenance' });
    expect(machine.msUntilStale()).toBeNull();
  });
});

describe('viewOfState', () => {
  it('maps each state to what the renderer draws', () => {
    const doc = makeDocument('panel-001', 1);
    expect(viewOfState({ name: 'booting', reason: 'x' })).toEqual({ kind: 'booting' });
    expect(viewOfState({ name: 'showing-cached', reason: 'x', document: doc })).toEqual({ kind: 'content', document: doc, stale: null });
    expect(viewOfState({ name: 'live', reason: 'x', document: doc })).toEqual({ kind: 'content', document: doc, stale: null });
    expect(viewOfState({ name: 'stale', reason: 'x', document: doc, sinceWallMs: 0 })).toEqual({
      kind: 'content',
      document: doc,
      stale: { since: '1970-01-01T00:00:00.000Z' },
    });
    expect(viewOfState({ name: 'maintenance', reason: 'x', code: 'CFG-2' })).toEqual({ kind: 'maintenance', code: 'CFG-2' });
  });
});
