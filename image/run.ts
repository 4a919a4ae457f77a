/**
 * Runs the build's external tools: output streamed with a prefix (so long steps show
 * progress), a clear error naming the Debian package when a tool is missing, and timed steps.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Print nothing unless the command fails (then its output is shown). */
  quiet?: boolean;
  /** Collect stdout and return it instead of printing it. */
  capture?: boolean;
}

export type Runner = (cmd: string, args: readonly string[], o?: RunOptions) => Promise<string>;

/** command → the Debian package that provides it (for the error message). */
export const TOOL_PACKAGES: Readonly<Record<string, string>> = {
  mmdebstrap: 'mmdebstrap',
  genimage: 'genimage',
  'mkfs.ext4': 'e2fsprogs',
  mke2fs: 'e2fsprogs',
  'mkfs.vfat': 'dosfstools',
  mcopy: 'mtools',
  rauc: 'rauc',
  mksquashfs: 'squashfs-tools',
  openssl: 'openssl',
  chroot: 'coreutils',
  tar: 'tar',
};

function onPath(cmd: string): boolean {
  const dirs = (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/sbin']);
  return dirs.some((d) => d !== '' && existsSync(`${d}/${cmd}`));
}

/** Fails with every missing tool and the apt-get line that installs them. */
export function checkTools(tools: readonly string[]): void {
  const missing = tools.filter((t) => !onPath(t));
  if (missing.length === 0) return;
  const pkgs = [...new Set(missing.map((t) => TOOL_PACKAGES[t] ?? t))].sort();
  throw new Error(`${missing.join(', ')} not installed: apt-get install ${pkgs.join(' ')}`);
}

export const run: Runner = (cmd, args, o = {}) =>
  new Promise((resolve, reject) => {
    const env = o.env ? { ...process.env, ...o.env } : process.env;
    // sbin tools (mkfs, chroot…) are not on every user's PATH.
    env.PATH = `${env.PATH ?? ''}:/usr/sbin:/sbin`;
    const child = spawn(cmd, args, { cwd: o.cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const tag = cmd.split('/').pop();
    let out = '';
    let log = '';
    const relay = (chunk: Buffer, isErr: boolean): void => {
      const text = chunk.toString();
      if (o.capture && !isErr) {
        out += text;
        return;
      }
      if (o.quiet) {
        log = (log + text).slice(-20_000);
        return;
      }
      for (const line of text.split('\n')) if (line.trim() !== '') (isErr ? process.stderr : process.stdout).write(`  [${tag}] ${line}\n`);
    };
    child.stdout.on('data', (c: Buffer) => relay(c, false));
    child.stderr.on('data', (c: Buffer) => relay(c, true));
    child.on('error', (e: NodeJS.ErrnoException) =>
      reject(e.code === 'ENOENT' ? new Error(`${cmd} not installed: apt-get install ${TOOL_PACKAGES[cmd] ?? cmd}`) : e),
    );
    child.on('close', (code, signal) => {
      if (code === 0) {
        resolve(out);
        return;
      }
      if (log !== '') process.stderr.write(log);
      reject(new Error(`${cmd} ${args.slice(0, 3).join(' ')}… failed (${signal ?? `exit ${code}`})`));
    });
  });

/** Runs a build step and prints its duration: "==> name" … "<== name (12.3 s)". */
export async function step<T>(name: string, fn: () => Promise<T>, timings: Array<[string, number]>): Promise<T> {
  const t0 = Date.now();
  console.log(`==> ${name}`);
  const result = await fn();
  const s = (Date.now() - t0) / 1000;
  timings.push([name, s]);
  console.log(`<== ${name} (${s.toFixed(1)} s)`);
  return result;
}
