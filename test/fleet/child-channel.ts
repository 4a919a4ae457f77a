// A forked fleet or backend process and its message channel (numbered requests, fatal exits).
import { fork, type ChildProcess } from 'node:child_process';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));
const repoRoot = resolve(here, '..', '..');

/** A forked child with numbered requests; a `fatal` message or its exit fails whatever waits. */
export class Channel<In extends { type: string }, Out extends { type: string }> {
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (m: Out) => void; reject: (e: Error) => void }>();
  private readonly awaitingType = new Set<{ type: string; resolve: (m: Out) => void; reject: (e: Error) => void }>();
  readonly exited: Promise<number | null>;

  constructor(
    readonly child: ChildProcess,
    readonly name: string,
  ) {
    // A send to a child that just died is reported here and through send's callback.
    child.on('error', (error) => process.stderr.write(`[${name}] ${error.message}\n`));
    child.on('message', (raw) => {
      const m = raw as Out & { id?: number; message?: string };
      if (m.type === 'fatal') {
        process.stderr.write(`[${name}] fatal: ${String(m.message)}\n`);
        this.failAll(new Error(`${name}: ${String(m.message)}`));
        return;
      }
      if (typeof m.id === 'number') {
        const w = this.waiting.get(m.id);
        this.waiting.delete(m.id);
        w?.resolve(m);
      }
      for (const w of this.awaitingType) {
        if (w.type !== m.type) continue;
        this.awaitingType.delete(w);
        w.resolve(m);
      }
    });
    this.exited = new Promise((res) =>
      child.once('exit', (code) => {
        this.failAll(new Error(`${name} exited (${code})`));
        res(code);
      }),
    );
  }

  private failAll(error: Error): void {
    for (const w of this.waiting.values()) w.reject(error);
    this.waiting.clear();
    for (const w of this.awaitingType) w.reject(error);
    this.awaitingType.clear();
  }

  /** The next message of this type (e.g. `ready`, `started`). */
  once<T extends Out['type']>(type: T): Promise<Extract<Out, { type: T }>> {
    return new Promise((resolve, reject) => {
      this.awaitingType.add({ type, resolve: (m) => resolve(m as Extract<Out, { type: T }>), reject });
    });
  }

  send(m: In): void {
    if (!this.child.connected) throw new Error(`${this.name} is gone`);
    this.child.send(m);
  }

  /** Sends a numbered request; resolves with the answer carrying the same id. */
  request<R extends Out>(make: (id: number) => In): Promise<R> {
    const id = this.nextId++;
    return new Promise<R>((resolve, reject) => {
      if (!this.child.connected) {
        reject(new Error(`${this.name} is gone`));
        return;
      }
      this.waiting.set(id, { resolve: (m) => resolve(m as R), reject });
      this.child.send(make(id), (error) => {
        if (!error || !this.waiting.delete(id)) return;
        reject(new Error(`${this.name}: ${error.message}`));
      });
    });
  }
}

/** Set to a directory to get a V8 CPU profile of the backend and each fleet process (`--cpu-prof`). */
const CPU_PROFILE_DIR = process.env.AIRPANEL_FLEET_CPU_PROF_DIR;

export function forkTs(file: string, name: string, execArgv: string[] = []): ChildProcess {
  // A directory per process: tsx's loader thread writes a profile of its own.
  const profiling = CPU_PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${join(CPU_PROFILE_DIR, name)}`] : [];
  const child = fork(join(here, file), [], {
    cwd: repoRoot,
    execArgv: ['--import', 'tsx', ...profiling, ...execArgv],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, AIRPANEL_FLEET_PROCESS: name },
  });
  return child;
}
