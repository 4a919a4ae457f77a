// Shared fixtures of the provisioning tests: the real backend, the CLI with real tools, small disks.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { createFetchTransport } from '@airpanel/contract/api';
import type { Backend } from '@airpanel/backend/backend';
import { silentLogger } from '@airpanel/backend/logger';
import { type CliDeps } from '@airpanel/provisioning/cli';
import { ProcessToolRunner } from '@airpanel/provisioning/tools';
import { Cleanups, startBackend } from './harness/index.js';
import { must, tempDir } from './image-fixture.js';

export const ADMIN = 'admin-token-for-provisioning-tests-0123456789';
// Live bindings: set by the beforeAll of useProvisioningBackend.
export let work: ReturnType<typeof tempDir>;
export let backend: Backend;
export const servers: Server[] = [];

export function cli(env: NodeJS.ProcessEnv = {}, timeoutMs = 5_000) {
  const out: string[] = [];
  const err: string[] = [];
  const deps: CliDeps = {
    http: { transport: createFetchTransport(), timeoutMs },
    tools: new ProcessToolRunner(30_000),
    env,
    tmpDir: work.dir,
    cwd: work.dir,
    out: (l) => out.push(l),
    err: (l) => err.push(l),
  };
  return { deps, out, err, text: () => out.join('\n'), errors: () => err.join('\n') };
}

/** A loopback HTTP server answering every request with `handler`. */
export async function misbehaving(handler: Parameters<typeof createServer>[1]): Promise<string> {
  const server = createServer(handler);
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

export const sha256 = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');

/** Starts the real backend and a temp tree for the file, and stops both after it. */
export function useProvisioningBackend(): void {
  const backendCleanups = new Cleanups();
  beforeAll(async () => {
    work = tempDir('airpanel-provisioning-');
    backend = (
      await startBackend({
        mode: 'in-process',
        cleanups: backendCleanups,
        dataDir: join(work.dir, 'backend'),
        adminToken: ADMIN,
        mqtt: { mode: 'none' },
        backend: { logger: silentLogger, startLoops: false },
      })
    ).backend;
  }, 30_000);

  afterAll(async () => {
    await backendCleanups.run();
    for (const s of servers) {
      s.closeAllConnections();
      await new Promise((r) => s.close(r));
    }
    work?.remove();
  });
}

/** A small GPT disk with a data partition, made with sfdisk and mkfs (ext4 or vfat). */
export function smallDisk(name: string, fs: 'ext4' | 'vfat'): string {
  const img = join(work.dir, name);
  must('truncate', ['-s', '24M', img]);
  const type = fs === 'ext4' ? '0FC63DAF-8483-4772-8E79-3D69D8477DE4' : 'EBD0A0A2-B9E5-4433-87C0-68B6B72699C7';
  must('sfdisk', ['-q', img], {
    input: `label: gpt\nstart=2048, size=8192, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name="efi"\nstart=10240, size=32768, type=${type}, name="airpanel-data"\n`,
  });
  const part = join(work.dir, `${name}.part`);
  if (fs === 'ext4') must('mkfs.ext4', ['-q', '-L', 'airpanel-data', part, '16M']);
  else {
    must('truncate', ['-s', '16M', part]);
    must('mkfs.vfat', ['-n', 'APDATA', part]);
  }
  must('dd', [`if=${part}`, `of=${img}`, 'bs=1M', 'seek=5', 'conv=notrunc,sparse', 'status=none']);
  return img;
}
