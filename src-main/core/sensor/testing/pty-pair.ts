import { type ChildProcess, spawn } from 'node:child_process';
import { open, type FileHandle } from 'node:fs/promises';

/**
 * A real pseudo-terminal pair made by socat (Debian package `socat`): the panel's driver opens
 * `device` as it would /dev/ttyUSB0, and the test writes sensor frames into `feeder`. Killing
 * socat makes both ends vanish, as an unplugged USB adapter does.
 */
export interface PtyPair {
  device: string;
  feeder: string;
  write(bytes: Uint8Array): Promise<void>;
  /** Kills socat (the device disappears). */
  unplug(): Promise<void>;
}

export async function startPtyPair(): Promise<PtyPair> {
  const proc: ChildProcess = spawn('socat', ['-d', '-d', 'pty,raw,echo=0', 'pty,raw,echo=0'], { stdio: ['ignore', 'ignore', 'pipe'] });
  const names = await new Promise<string[]>((resolve, reject) => {
    const found: string[] = [];
    let text = '';
    const timer = setTimeout(() => reject(new Error(`socat gave no pty names: ${text}`)), 5_000);
    proc.stderr!.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      for (const m of text.matchAll(/PTY is (\/dev\/pts\/\d+)/g)) if (!found.includes(m[1]!)) found.push(m[1]!);
      if (found.length === 2 && /starting data transfer loop/.test(text)) {
        clearTimeout(timer);
        resolve(found);
      }
    });
    proc.once('exit', (code) => reject(new Error(`socat exited (${code}): ${text}`)));
  });
  const [device, feeder] = names as [string, string];
  let handle: FileHandle | null = await open(feeder, 'r+');
  return {
    device,
    feeder,
    async write(bytes) {
      if (!handle) throw new Error('pty pair unplugged');
      await handle.write(bytes);
    },
    async unplug() {
      const h = handle;
      handle = null;
      await h?.close().catch(() => undefined);
      if (proc.exitCode === null && proc.signalCode === null) {
        const exited = new Promise((resolve) => proc.once('exit', resolve));
        proc.kill('SIGKILL');
        await exited;
      }
    },
  };
}
