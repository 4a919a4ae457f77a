import { describe, expect, it } from 'vitest';
import { windowStep, type WindowEvent, type WindowState } from './window-machine.js';

function run(events: WindowEvent[], from: WindowState = { phase: 'starting', since: 0 }): { phases: string[]; last: WindowState } {
  let state = from;
  const phases: string[] = [];
  events.forEach((e, i) => {
    const t = windowStep(state, e, i + 1);
    if (t) {
      expect(t.reason.length).toBeGreaterThan(0);
      state = t.state;
    }
    phases.push(t ? state.phase : `(${e.type} ignored)`);
  });
  return { phases, last: state };
}

describe('windowStep', () => {
  it('starting → loading → showing', () => {
    expect(run([{ type: 'launched' }, { type: 'painted' }]).phases).toEqual(['loading', 'showing']);
  });

  it('a fault in any running phase → recovering; the restart → starting', () => {
    for (const pre of [[], [{ type: 'launched' }], [{ type: 'launched' }, { type: 'painted' }]] as WindowEvent[][]) {
      const { last } = run([...pre, { type: 'fault', detail: 'chromium exited (SIGKILL)' }]);
      expect(last).toMatchObject({ phase: 'recovering', fault: 'chromium exited (SIGKILL)' });
      expect(run([{ type: 'restart-due' }], last).last.phase).toBe('starting');
    }
  });

  it('late events of a replaced window are ignored', () => {
    const { phases } = run([
      { type: 'fault', detail: 'crash' },
      { type: 'painted' },
      { type: 'launched' },
      { type: 'fault', detail: 'again' },
    ]);
    expect(phases).toEqual(['recovering', '(painted ignored)', '(launched ignored)', '(fault ignored)']);
    expect(run([{ type: 'restart-due' }]).phases).toEqual(['(restart-due ignored)']);
  });

  it('crash loop → maintenance; shown → window up; lost → down; operator reload → starting', () => {
    const { phases, last } = run([
      { type: 'fault', detail: 'x' },
      { type: 'maintenance', code: 'RND-1' },
      { type: 'maintenance-shown' },
      { type: 'fault', detail: 'maintenance window exited' },
      { type: 'fault', detail: 'again' },
    ]);
    expect(phases).toEqual(['recovering', 'maintenance', 'maintenance', 'maintenance', '(fault ignored)']);
    expect(last).toMatchObject({ phase: 'maintenance', code: 'RND-1', windowUp: false });
    expect(run([{ type: 'painted' }, { type: 'restart-due' }], last).phases).toEqual(['(painted ignored)', '(restart-due ignored)']);
    expect(run([{ type: 'operator-reload' }], last).last.phase).toBe('starting');
  });

  it('stopped is final', () => {
    const { phases } = run([{ type: 'stop' }, { type: 'operator-reload' }, { type: 'launched' }, { type: 'maintenance', code: 'RND-2' }]);
    expect(phases).toEqual(['stopped', '(operator-reload ignored)', '(launched ignored)', '(maintenance ignored)']);
  });
});
