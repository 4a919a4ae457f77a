import { readFileSync, rmSync, statSync } from 'node:fs';
import { mkdirSync } from 'node:fs';
import { CandidatePointer, LoaderState, parseLoaderState } from '@airpanel/contract/release';
import { fsyncDirSync, writeFileAtomicSync } from '@airpanel/node-support/atomic-file';
import type { ReleaseLayout } from '../core/update/layout.js';

/**
 * The loader's persistent pointers. loader-state.json is written only here, atomically (temp,
 * fsync, rename, fsync dir); candidate.json is written by the updater and removed here once
 * adopted. An unreadable state file falls back to "current = previous = none" (the factory
 * bundle), which is always runnable.
 */
export class LoaderStore {
  constructor(private readonly layout: ReleaseLayout) {}

  readState(): LoaderState {
    let text: string | null;
    try {
      text = statSync(this.layout.loaderStateFile).size > 256 * 1024 ? '' : readFileSync(this.layout.loaderStateFile, 'utf8');
    } catch {
      text = null;
    }
    return parseLoaderState(text);
  }

  writeState(state: LoaderState): void {
    mkdirSync(this.layout.releasesDir, { recursive: true });
    writeFileAtomicSync(this.layout.loaderStateFile, `${JSON.stringify(LoaderState.parse(state))}\n`, { mode: 0o644 });
  }

  readCandidate(): string | null {
    try {
      // A pointer is ~60 bytes; anything large is not one (and is not read into memory).
      if (statSync(this.layout.candidateFile).size > 4096) return null;
      return CandidatePointer.parse(JSON.parse(readFileSync(this.layout.candidateFile, 'utf8'))).version;
    } catch {
      return null;
    }
  }

  clearCandidate(): void {
    rmSync(this.layout.candidateFile, { force: true });
    try {
      fsyncDirSync(this.layout.releasesDir);
    } catch {
      // no releases dir: nothing was there
    }
  }
}
