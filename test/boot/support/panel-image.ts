// The technician's path, for a booted panel: a copy of the pristine image, the panel
// registered with `npm run provision -- register` against the test backend and its identity
// written into the copy with `npm run provision -- inject` (the real CLI, as a technician
// runs it). Then one TEST-ONLY change to the copy, said plainly because the production image
// must not have it: the kernel command line in the copy's grub.cfg (on the EFI partition)
// gains the serial console on ttyS0 and systemd's debug shell (a root shell) on ttyS1 — see
// guest-shell.ts. RAUC updates write only the root slots, so the change survives an A/B switch.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { PanelConfig } from '@airpanel/contract';

export const REPO = resolve(fileURLToPath(new URL('../../..', import.meta.url)));
/** What `npm run image` builds (image/README.md). */
export const PRISTINE_IMAGE = process.env.AIRPANEL_BOOT_IMAGE ?? join(REPO, 'dist/image/airpanel-debian-x86_64.img');
/** Appended to the copy's kernel command line; never in the production image. */
export const TEST_ONLY_KERNEL_ARGS = 'console=tty0 console=ttyS0,115200 systemd.debug_shell=ttyS1';

const PATH = `${process.env.PATH ?? '/usr/bin:/bin'}:/usr/sbin:/sbin`;

function must(cmd: string, args: string[], options: { env?: Record<string, string>; input?: string; timeoutMs?: number } = {}): string {
  const r = spawnSync(cmd, args, {
    cwd: REPO,
    encoding: 'utf8',
    input: options.input,
    timeout: options.timeoutMs ?? 300_000,
    killSignal: 'SIGKILL',
    env: { ...process.env, PATH, LC_ALL: 'C', ...options.env },
    maxBuffer: 16 << 20,
  });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

const SfdiskJson = z.object({
  partitiontable: z.object({
    sectorsize: z.number().int().positive().optional(),
    partitions: z.array(
      z.object({ node: z.string(), start: z.number().int(), size: z.number().int(), type: z.string(), name: z.string().optional() }),
    ),
  }),
});

/** Byte offset of the EFI system partition (GPT type C12A7328-…) of a disk image. */
export function espOffset(image: string): number {
  const table = SfdiskJson.parse(JSON.parse(must('sfdisk', ['--json', image]))).partitiontable;
  const esp = table.partitions.find((p) => p.type.toUpperCase() === 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B');
  if (!esp) throw new Error(`${image}: no EFI system partition`);
  return esp.start * (table.sectorsize ?? 512);
}

/** Path of grub.cfg on the ESP (e.g. ::/EFI/BOOT/grub.cfg), found by listing it. */
function findGrubCfg(espSpec: string): string {
  const listing = must('mdir', ['-/', '-b', '-i', espSpec, '::/'])
    .split('\n')
    .map((l) => l.trim());
  const hit = listing.find((l) => /\/grub\.cfg$/i.test(l));
  if (!hit) throw new Error(`no grub.cfg on the ESP:\n${listing.join('\n')}`);
  return hit;
}

/** Appends `args` to the `set cmdline="…"` line of the ESP's grub.cfg (test copies only). */
export function appendKernelArgs(image: string, args: string, workDir: string): void {
  const spec = `${image}@@${espOffset(image)}`;
  const cfgPath = findGrubCfg(spec);
  const local = join(workDir, 'grub.cfg');
  must('mcopy', ['-o', '-n', '-i', spec, cfgPath, local]);
  const cfg = readFileSync(local, 'utf8');
  if (cfg.includes(args)) return;
  const patched = cfg.replace(/^(\s*set cmdline=")([^"]*)"/m, (_m, head: string, body: string) => `${head}${body} ${args}"`);
  if (patched === cfg) throw new Error(`${cfgPath} has no \`set cmdline="…"\` line to extend`);
  writeFileSync(local, patched);
  must('mcopy', ['-o', '-n', '-i', spec, local, cfgPath]);
  if (!must('mtype', ['-i', spec, cfgPath]).includes(args)) throw new Error('grub.cfg on the ESP was not changed');
}

export interface ProvisionedImage {
  image: string;
  panelId: string;
  /** The panel.json `register` saved (holds the panel's API key). */
  configFile: string;
}

/**
 * Copies the pristine image (sparse), registers `panelId` with the backend at `apiUrl`
 * (sensor `sensorId`) and injects its identity, both with the provisioning CLI.
 */
export function provisionImageCopy(o: {
  pristine: string;
  workDir: string;
  panelId: string;
  apiUrl: string;
  adminToken: string;
  sensorId: string;
  /** The panel.json's freshness window (a technician may set it in the file before `inject`). */
  freshnessWindowSeconds?: number;
}): ProvisionedImage {
  if (!existsSync(o.pristine)) throw new Error(`${o.pristine} is missing: run \`npm run image\``);
  mkdirSync(o.workDir, { recursive: true });
  const image = join(o.workDir, `${o.panelId}.img`);
  const configFile = join(o.workDir, `panel-${o.panelId}.json`);
  must('cp', ['--sparse=always', '-f', o.pristine, image]);
  const env = { AIRPANEL_API: o.apiUrl, AIRPANEL_ADMIN_TOKEN: o.adminToken };
  const tsx = [join(REPO, 'node_modules/.bin/tsx'), join(REPO, 'provisioning/src/cli.ts')];
  must(
    tsx[0]!,
    [
      tsx[1]!,
      'register',
      '--id',
      o.panelId,
      '--name',
      `Boot test ${o.panelId}`,
      '--location',
      'QEMU on the build machine',
      '--sensor-source',
      o.sensorId,
      '--out',
      configFile,
      '--force',
    ],
    { env },
  );
  // What a technician sets in panel.json before `inject`: the freshness window, and plain
  // HTTP/MQTT allowed (the backend's guest address is not loopback; QEMU's user network with
  // restrict=on is a closed network that reaches only it).
  const config = PanelConfig.parse(JSON.parse(readFileSync(configFile, 'utf8')));
  writeFileSync(
    configFile,
    `${JSON.stringify(
      {
        ...config,
        allowInsecureTransport: true,
        ...(o.freshnessWindowSeconds !== undefined ? { freshnessWindowSeconds: o.freshnessWindowSeconds } : {}),
      },
      null,
      2,
    )}\n`,
    { mode: 0o600 },
  );
  must(tsx[0]!, [tsx[1]!, 'inject', '--config', configFile, '--image', image], { env });
  appendKernelArgs(image, TEST_ONLY_KERNEL_ARGS, o.workDir);
  return { image, panelId: o.panelId, configFile };
}
