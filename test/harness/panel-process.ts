// Drives the one panel runner (panel-child.ts) as a child process: start, its events, waiting
// for one, SIGKILL and start again on the same data dir.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { CoreTuning } from '@airpanel/panel/core/index';
import { REPO_ROOT } from './build.js';
import type { PanelSample, PanelSampleRequest } from './panel-child.js';

export const PANEL_CHILD_SOURCE = join(import.meta.dirname, 'panel-child.ts');

/** One line of the runner (see panel-child.ts). */
export type PanelEvent =
  | { type: 'origin' | 'modules'; at: number }
  | { type: 'view'; at: number; kind: string; revision?: number; stale?: boolean; code?: string }
  | { type: 'started'; at: number; state: string; url: string | null; kind: string; revision?: number; stale?: boolean; code?: string }
  | { type: 'frame'; at: number; kind: string; revision: number | null }
  | { type: 'fatal'; error: string };

export interface PanelProcessOptions {
  dataDir: string;
  /** How to run the runner: a bundle (buildForNode, bundleLikeRelease) or, by default, its source under tsx. */
  program?: { entry: string; nodeArgs: string[] };
  /** Serve the built renderer through the headless host (frame events). */
  rendererDir?: string;
  tuning?: Partial<CoreTuning>;
  logLevel?: 'error' | 'warn' | 'info' | 'debug';
  firmwareVersion?: string;
  /** An IPC channel for samples (PanelSampleRequest) and node flags such as --expose-gc. */
  ipc?: boolean;
  execArgv?: string[];
  /** Where the runner's stderr goes: kept (the last 20 kB, in `output`) or this process's. */
  stderr?: 'keep' | 'inherit';
  /** false: no `view` lines (a measured panel does not pay for reporting each document). */
  viewEvents?: boolean;
}

type Exit = { code: number | null; signal: NodeJS.Signals | null };

export class PanelProcess {
  /** The running child, or null. */
  child: ChildProcess | null = null;
  /** Events of the current (or last) process, in order. */
  events: PanelEvent[] = [];
  /** Its stderr (the last 20 kB) when `stderr` is 'keep'. */
  output = '';
  /** performance.now() at the last spawn. */
  spawnedAt = 0;
  private nextSampleId = 1;
  private readonly samples = new Map<number, (s: PanelSample) => void>();
  private exited: Promise<Exit> = Promise.resolve({ code: null, signal: null });
  private readonly listeners = new Set<() => void>();

  constructor(readonly o: PanelProcessOptions) {}

  get dataDir(): string {
    return this.o.dataDir;
  }

  /** Spawns the runner; `until` 'started' (default) waits for its core to run, 'spawned' returns at once. */
  async start(until: 'started' | 'spawned' = 'started', timeoutMs = 30_000): Promise<void> {
    if (this.child) throw new Error('panel process already running');
    const program = this.o.program ?? { entry: PANEL_CHILD_SOURCE, nodeArgs: ['--import', 'tsx'] };
    const args = [
      ...(this.o.execArgv ?? []),
      ...program.nodeArgs,
      program.entry,
      '--data-dir',
      this.o.dataDir,
      ...(this.o.rendererDir ? ['--renderer-dir', this.o.rendererDir] : []),
      ...(this.o.tuning ? ['--tuning', JSON.stringify(this.o.tuning)] : []),
      ...(this.o.logLevel ? ['--log-level', this.o.logLevel] : []),
      ...(this.o.firmwareVersion ? ['--firmware-version', this.o.firmwareVersion] : []),
      ...(this.o.viewEvents === false ? ['--no-view-events'] : []),
    ];
    this.events = [];
    this.output = '';
    this.spawnedAt = performance.now();
    const child = spawn(process.execPath, args, {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', this.o.stderr === 'inherit' ? 'inherit' : 'pipe', ...(this.o.ipc ? ['ipc' as const] : [])],
    });
    this.child = child;
    // 'close', not 'exit': every line it wrote has been read by then.
    this.exited = new Promise<Exit>((resolve) =>
      child.once('close', (code, signal) => {
        if (this.child === child) this.child = null;
        resolve({ code, signal });
        this.wake();
      }),
    );
    child.on('message', (m: { id: number; sample: PanelSample } | 'ready') => {
      if (m === 'ready') return;
      this.samples.get(m.id)?.(m.sample);
      this.samples.delete(m.id);
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      this.output = (this.output + chunk.toString('utf8')).slice(-20_000);
    });
    createInterface({ input: child.stdout! }).on('line', (text) => {
      this.events.push(JSON.parse(text) as PanelEvent);
      this.wake();
    });
    if (until === 'spawned') return;
    const first = await this.nextEvent((e) => e.type === 'started' || e.type === 'fatal', timeoutMs);
    if (first?.type !== 'started') {
      const why = first?.type === 'fatal' ? first.error : this.child ? `not started within ${timeoutMs} ms` : 'exited';
      await this.kill();
      throw new Error(`panel did not start (${why}):\n${this.output}`);
    }
  }

  /** The first event of the current process matching `match` (one already seen too), or null after timeoutMs or once it exited. */
  nextEvent<E extends PanelEvent>(match: (e: PanelEvent) => e is E, timeoutMs?: number): Promise<E | null>;
  nextEvent(match: (e: PanelEvent) => boolean, timeoutMs?: number): Promise<PanelEvent | null>;
  nextEvent(match: (e: PanelEvent) => boolean, timeoutMs = 30_000): Promise<PanelEvent | null> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => done(null), timeoutMs);
      const done = (e: PanelEvent | null) => {
        clearTimeout(timer);
        this.listeners.delete(check);
        resolve(e);
      };
      const check = () => {
        const found = this.events.find(match);
        if (found) done(found);
        else if (!this.child) done(null);
      };
      this.listeners.add(check);
      check();
    });
  }

  /** The current process's `started` event (its headless host's url, the state it started in); throws before it. */
  started(): Extract<PanelEvent, { type: 'started' }> {
    const e = this.events.find((x): x is Extract<PanelEvent, { type: 'started' }> => x.type === 'started');
    if (!e) throw new Error('the panel process has not started');
    return e;
  }

  /** The first frame event matching `match`, rejecting after timeoutMs. */
  async frame(
    match: (e: Extract<PanelEvent, { type: 'frame' }>) => boolean,
    timeoutMs = 30_000,
  ): Promise<Extract<PanelEvent, { type: 'frame' }>> {
    const found = await this.nextEvent((e): e is Extract<PanelEvent, { type: 'frame' }> => e.type === 'frame' && match(e), timeoutMs);
    if (!found) throw new Error(`no matching frame within ${timeoutMs} ms`);
    return found;
  }

  /** Its memory and CPU now (needs `ipc`); `gc`: after a full GC; `snapshot`: also a heap snapshot to that path. */
  sample(gc = false, snapshot?: string): Promise<PanelSample> {
    const child = this.child;
    if (!child?.send) return Promise.reject(new Error('sample: the panel process runs without an IPC channel'));
    const id = this.nextSampleId++;
    return new Promise((resolve) => {
      this.samples.set(id, resolve);
      child.send({ id, gc, ...(snapshot ? { snapshot } : {}) } satisfies PanelSampleRequest);
    });
  }

  /** A clean stop: 'stop' over IPC where there is a channel, else SIGTERM. */
  async stop(): Promise<Exit> {
    const child = this.child;
    if (!child?.send) return this.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.send('stop' satisfies PanelSampleRequest);
    const exit = await this.exited;
    clearTimeout(killer);
    return exit;
  }

  /** Sends `signal` (SIGTERM: a clean stop) and waits until the process is gone (SIGKILL after 10 s). */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<Exit> {
    const child = this.child;
    if (!child) return this.exited;
    const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.kill(signal);
    const exit = await this.exited;
    clearTimeout(killer);
    return exit;
  }

  private wake(): void {
    for (const l of [...this.listeners]) l();
  }
}
