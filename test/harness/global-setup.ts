// vitest globalSetup (root vitest.config.ts): one directory per test run for the builds test
// files share (build-once.ts), given to the workers as `inject('buildOnceRoot')` and removed
// when the run ends. Nothing is built here: a run that needs no shared build pays nothing.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Where build-once.ts puts what it builds for this run. */
    buildOnceRoot: string;
  }
}

export default function setup(project: TestProject): () => void {
  const root = mkdtempSync(join(tmpdir(), 'airpanel-build-once-'));
  project.provide('buildOnceRoot', root);
  return () => rmSync(root, { recursive: true, force: true });
}
