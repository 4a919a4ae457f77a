import { describe, expect, it } from 'vitest';
import { allCaughtUp, catchUpOf } from './affected-panels.js';

const panel = (id: string, online: boolean, currentRevision: number | null, displayedRevision: number | null) => ({
  id,
  online,
  currentRevision,
  displayedRevision,
});

describe('affected panels catching up after a save', () => {
  it('is updating until the backend issued a newer revision and the panel shows it', () => {
    expect(catchUpOf(panel('a', true, 7, 7), 7)).toBe('updating'); // not issued yet
    expect(catchUpOf(panel('a', true, 8, 7), 7)).toBe('updating'); // issued, not shown
    expect(catchUpOf(panel('a', true, 8, 8), 7)).toBe('updated');
    expect(catchUpOf(panel('a', true, 9, 9), 7)).toBe('updated'); // a later issue counts too
  });

  it('counts a panel with no revision before as updated once it shows one', () => {
    expect(catchUpOf(panel('a', true, 1, null), null)).toBe('updating');
    expect(catchUpOf(panel('a', true, 1, 1), null)).toBe('updated');
  });

  it('says offline for a panel that is not connected and has not caught up', () => {
    expect(catchUpOf(panel('a', false, 8, 7), 7)).toBe('offline');
    expect(catchUpOf(panel('a', false, 8, 8), 7)).toBe('updated');
  });

  it('stops following when no online panel is still updating', () => {
    const before = new Map<string, number | null>([
      ['a', 7],
      ['b', 3],
    ]);
    expect(allCaughtUp([panel('a', true, 8, 8), panel('b', false, 4, 3)], before)).toBe(true);
    expect(allCaughtUp([panel('a', true, 8, 7), panel('b', false, 4, 3)], before)).toBe(false);
    expect(allCaughtUp([], before)).toBe(true);
  });
});
