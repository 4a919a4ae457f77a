// One suite, two lengths: `npm test` runs a case's short parameters, `npm run test:faults`
// its long ones (test/faults/vitest.config.ts sets AIRPANEL_RUN_LENGTH=long).
export type RunLength = 'short' | 'long';

export function runLength(): RunLength {
  return process.env.AIRPANEL_RUN_LENGTH === 'long' ? 'long' : 'short';
}

/** The parameters for this run's length, with the length itself. */
export function forRunLength<T extends object>(p: Record<RunLength, T>): T & { length: RunLength } {
  const length = runLength();
  return { ...p[length], length };
}
