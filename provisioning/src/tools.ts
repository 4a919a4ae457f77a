import { spawn } from 'node:child_process';
import { ProvisionError } from './errors.js';

export interface ToolResult {
  code: number;
  stdout: Buffer;
  stderr: string;
}

export interface ToolOptions {
  /** Written to the tool's standard input. */
  input?: string | Buffer;
  /** Extra environment variables (merged over the runner's environment). */
  env?: Record<string, string>;
}

/**
 * Runs the external disk tools (sfdisk, debugfs, e2fsck, mtools, cp). Given to the image code
 * through its constructor so a caller decides PATH, timeouts and logging.
 */
export interface ToolRunner {
  run(command: string, args: readonly string[], options?: ToolOptions): Promise<ToolResult>;
}

/** Which Debian package provides a tool, for the "not installed" error. */
const PACKAGE_OF: Record<string, string> = {
  sfdisk: 'fdisk',
  debugfs: 'e2fsprogs',
  e2fsck: 'e2fsprogs',
  mcopy: 'mtools',
  mtype: 'mtools',
  mmd: 'mtools',
  mdir: 'mtools',
  'fsck.vfat': 'dosfstools',
  cp: 'coreutils',
};

/** Runs real programs with spawn (no shell); sbin directories are added to PATH. */
export class ProcessToolRunner implements ToolRunner {
  constructor(
    private readonly timeoutMs = 120_000,
    private readonly baseEnv: NodeJS.ProcessEnv = process.env,
  ) {}

  run(command: string, args: readonly string[], options: ToolOptions = {}): Promise<ToolResult> {
    const path = [this.baseEnv.PATH ?? '/usr/bin:/bin', '/usr/sbin', '/sbin'].join(':');
    return new Promise((resolve, reject) => {
      const child = spawn(command, [...args], {
        env: { ...this.baseEnv, PATH: path, LC_ALL: 'C', ...options.env },
        stdio: ['pipe', 'pipe', 'pipe'],
        timeout: this.timeoutMs,
        killSignal: 'SIGKILL',
      });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      child.stdout.on('data', (c: Buffer) => out.push(c));
      child.stderr.on('data', (c: Buffer) => err.push(c));
      child.on('error', (e: NodeJS.ErrnoException) => {
        if (e.code === 'ENOENT') {
          const pkg = PACKAGE_OF[command];
          reject(new ProvisionError(`${command} is not installed${pkg ? ` (Debian package: ${pkg})` : ''}`));
        } else reject(new ProvisionError(`cannot run ${command}: ${e.message}`));
      });
      child.on('close', (code, signal) => {
        if (signal) {
          reject(new ProvisionError(`${command} was stopped by ${signal} (timeout ${this.timeoutMs / 1000} s?)`));
          return;
        }
        resolve({ code: code ?? 1, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString('utf8') });
      });
      child.stdin.on('error', () => {
        /* tool exited before reading its input; its exit code tells */
      });
      child.stdin.end(options.input ?? '');
    });
  }
}

/** Runs a tool and fails with its stderr unless it exits 0 (or one of `okCodes`). */
export async function runChecked(
  tools: ToolRunner,
  command: string,
  args: readonly string[],
  what: string,
  options: ToolOptions & { okCodes?: number[] } = {},
): Promise<ToolResult> {
  const r = await tools.run(command, args, options);
  if (r.code !== 0 && !(options.okCodes ?? []).includes(r.code)) {
    const detail = r.stderr.trim().split('\n').slice(-3).join(' / ');
    throw new ProvisionError(`${what}: ${command} exited with ${r.code}${detail ? `: ${detail}` : ''}`);
  }
  return r;
}
