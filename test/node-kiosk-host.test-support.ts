// What the Node kiosk host tests share (node-kiosk-host*.test.ts): the app built once per test
// run, a systemd-style notify socket, the host's log lines, waits, and /proc lookups of the
// Chromium processes a host started.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, inject } from 'vitest';
import type { CommandKind } from '@airpanel/contract';
import { buildOnce } from '@airpanel/harness/build-once';
import type { DevStack } from '@airpanel/scripts/dev-stack';
import { descendantsOf } from '@airpanel/panel/headless/kiosk/chromium-window';
import { REPO, must } from './image-fixture.js';

export const CHROMIUM = '/usr/bin/chromium';
const PYTHON = '/usr/bin/python3';
export const canRun = existsSync(CHROMIUM) && existsSync(PYTHON);

/** Chromium runs --headless and --no-sandbox here only: no cage on this machine, and the tests run as root. */
export const TEST_CHROMIUM_FLAGS = '--headless --no-sandbox --disable-gpu';

/**
 * The bundle as the image gets it (main.js, node-main.js, preload.cjs, renderer/) at
 * `<root>/dist/app`, the release tool's default input under `root`: built once per test run
 * for every file that asks (the renderer too, when src-renderer/dist is missing). Call at the
 * top of a test file; read `appDir` and `root` in tests and hooks.
 */
export function useKioskApp(): { readonly appDir: string; readonly root: string } {
  let root: string | null = null;
  let ownRoot: string | null = null;
  beforeAll(async () => {
    if (!canRun) return;
    // The root vitest config provides the run's shared directory; another config builds per file.
    const shared = inject('buildOnceRoot') as string | undefined;
    const base = shared ?? (ownRoot = mkdtempSync(join(tmpdir(), 'airpanel-kiosk-app-')));
    root = await buildOnce(base, 'kiosk-app', (outDir) => {
      if (!existsSync(join(REPO, 'src-renderer/dist/index.html'))) must('npm', ['run', 'build:renderer'], { cwd: REPO });
      const build = spawnSync('npx', ['tsx', 'src-main/electron/build.ts', '--out-dir', join(outDir, 'dist/app')], {
        cwd: REPO,
        encoding: 'utf8',
        timeout: 120_000,
      });
      if (build.status !== 0) throw new Error(`app build failed:\n${build.stdout}\n${build.stderr}`);
    });
  }, 240_000);
  afterAll(() => {
    if (ownRoot) rmSync(ownRoot, { recursive: true, force: true });
  });
  const built = (): string => {
    if (!root) throw new Error('the kiosk app is not built (useKioskApp builds it in beforeAll)');
    return root;
  };
  return {
    get root() {
      return built();
    },
    get appDir() {
      return join(built(), 'dist/app');
    },
  };
}

/** A fresh working directory for one test file, removed after it. */
export function useWorkDir(prefix: string): { readonly dir: string } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  // Retries: a Chromium profile may still be flushing when the file ends.
  afterAll(() => rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 }));
  return { dir };
}

export interface Datagram {
  at: number;
  text: string;
}

/** A datagram socket bound where NOTIFY_SOCKET points, as systemd's; one line per datagram. */
const RECEIVER = `
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
print("LISTENING", flush=True)
while True:
    print(s.recv(65536).decode("utf-8", "replace").replace("\\n", "|"), flush=True)
`;

/** A datagram listener on `path`: every datagram, with when it came. */
export async function notifyListener(path: string): Promise<{ child: ChildProcess; datagrams: Datagram[] }> {
  const datagrams: Datagram[] = [];
  const child = spawn(PYTHON, ['-c', RECEIVER, path], { stdio: ['ignore', 'pipe', 'inherit'] });
  lines(child, (text) => datagrams.push({ at: Date.now(), text }));
  await until('the notify socket', () => datagrams.some((d) => d.text === 'LISTENING'), 10_000);
  return { child, datagrams };
}

/** Each line of a child's stdout, as it comes. */
export function lines(child: ChildProcess, onLine: (line: string) => void): void {
  let buf = '';
  child.stdout!.on('data', (d: Buffer) => {
    buf += d.toString('utf8');
    for (let nl = buf.indexOf('\n'); nl !== -1; nl = buf.indexOf('\n')) {
      onLine(buf.slice(0, nl));
      buf = buf.slice(nl + 1);
    }
  });
}

/** The JSON log lines a host writes on stdout, collected as they come (other lines skipped). */
export function logLinesOf(child: ChildProcess): Record<string, unknown>[] {
  const logLines: Record<string, unknown>[] = [];
  lines(child, (line) => {
    try {
      logLines.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      // not a log line
    }
  });
  return logLines;
}

export async function until<T>(what: string, fn: () => T | undefined | null | false, timeoutMs: number): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function untilAsync<T>(what: string, fn: () => Promise<T | undefined | null | false>, timeoutMs: number): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Chromium browser processes directly under the host (the window it started). */
export function chromiumChildren(pid: number): number[] {
  const out: number[] = [];
  for (const t of readdirSync(`/proc/${pid}/task`)) {
    for (const c of readFileSync(`/proc/${pid}/task/${t}/children`, 'utf8').split(/\s+/).filter(Boolean).map(Number)) {
      try {
        if (readFileSync(`/proc/${c}/comm`, 'utf8').trim().startsWith('chrom')) out.push(c);
      } catch {
        // gone meanwhile
      }
    }
  }
  return out;
}

export function comm(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '';
  }
}

export function parentOf(pid: number): number {
  try {
    return Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[1]);
  } catch {
    return 0;
  }
}

export function isGone(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.startsWith('Z');
  } catch {
    return true;
  }
}

/** SIGKILL to a child still running and every process below it (its Chromium), and waits until all are gone. */
export async function killTree(child: ChildProcess | null): Promise<void> {
  if (!child?.pid || child.exitCode !== null || child.signalCode !== null) return;
  const tree = [child.pid, ...descendantsOf(child.pid)];
  for (const pid of tree) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }
  await until('the process tree gone', () => tree.every((pid) => isGone(pid)), 15_000);
}

export async function sendCommand(stack: DevStack, kind: CommandKind): Promise<{ id: string }> {
  const res = await stack.admin().client.send('sendCommand', { params: { panelId: stack.panelId }, body: { kind } });
  expect(res.status).toBeLessThan(300);
  return res.body;
}
