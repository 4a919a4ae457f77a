// The cleanup list of a vitest file: emptied after each test.
import { afterEach } from 'vitest';
import { Cleanups } from './cleanups.js';

/** A cleanup list the test file's afterEach empties (call once, at the top of a test file). */
export function useCleanups(): Cleanups {
  const cleanups = new Cleanups();
  afterEach(() => cleanups.run());
  return cleanups;
}
