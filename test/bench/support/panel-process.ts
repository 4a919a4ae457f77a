/**
 * Drives test/bench/support/headless-panel.ts (bundled) as a child process: its timestamped
 * events (see that file), waiting for a frame, stopping it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { CoreTuning } from '../../../src-main/core/index.js';

export type PanelEvent =
  | { event: 'origin' | 'modules'; at: number }
  | { event: 'ready'; at: number; url: string; state: string }
  | { event: 'frame'; at: number; kind: string; revision: number | null };

export interface PanelProcess {
  proc: ChildProcess;
  events: PanelEvent[];
  ready: Promise<Extract<PanelEvent, { event: 'ready' }>>;
  /** The first frame event matching `pred` (also one already seen), or a rejection after timeoutMs. */
  frame(pred: (e: Extract<PanelEvent, { event: 'frame' }>) => boolean, timeoutMs?: number): Promise<Extract<PanelEvent, { event: 'frame' }>>;
  stop(): Promise<void>;
}

export function startPanelProcess(bundle: string, dataDir: string, rendererDir: string, tuning: Partial<CoreTuning> = {}): PanelProcess {
  const proc = spawn(process.execPath, [bundle, dataDir, rendererDir, JSON.stringify(tuning)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const events: PanelEvent[] = [];
  const listeners = new Set<() => void>();
  const ready = new Promise<Extract<PanelEvent, { event: 'ready' }>>((resolve, reject) => {
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      const e = JSON.parse(line) as PanelEvent;
      events.push(e);
      if (e.event === 'ready') resolve(e);
      for (const l of listeners) l();
    });
    proc.once('exit', (code) => reject(new Error(`the panel process exited (${code})`)));
  });
  ready.catch(() => undefined);
  return {
    proc,
    events,
    ready,
    frame(pred, timeoutMs = 30_000) {
      type Frame = Extract<PanelEvent, { event: 'frame' }>;
      const find = () => events.find((e): e is Frame => e.event === 'frame' && pred(e));
      const found = find();
      if (found) return Promise.resolve(found);
      return new Promise<Frame>((resolve, reject) => {
        const timer = setTimeout(() => {
          listeners.delete(check);
          reject(new Error(`no matching frame within ${timeoutMs} ms`));
        }, timeoutMs);
        const check = () => {
          const f = find();
          if (!f) return;
          clearTimeout(timer);
          listeners.delete(check);
          resolve(f);
        };
        listeners.add(check);
      });
    },
    stop: () => new Promise<void>((resolve) => {
      if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
      const kill = setTimeout(() => proc.kill('SIGKILL'), 5_000);
      proc.once('exit', () => {
        clearTimeout(kill);
        resolve();
      });
      proc.kill('SIGTERM');
    }),
  };
}
