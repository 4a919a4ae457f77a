import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { IsoDateTime, LastStart, type LastStartReason } from '@airpanel/contract';
import { writeFileAtomic } from '@airpanel/node-support/atomic-file';
import type { WallClock } from './clock.js';
import type { Logger } from '@airpanel/node-support/logger';
import { RESTART_EXIT_CODE } from './host.js';

/**
 * Why the panel app started this time, told to the backend in its status (`lastStart`).
 *
 * Each source answers a different question, so each is read where it is true:
 * - `last-stop.json`, written by airpanel.service's `ExecStopPost=` (`record-stop`, the same
 *   unit for both hosts): how systemd saw the unit's previous run end ($SERVICE_RESULT,
 *   $EXIT_CODE, $EXIT_STATUS), with that run's boot id and invocation id;
 * - `last-start.json`, written here at every start: the previous start's boot, invocation,
 *   bundle version and slot;
 * - the boot id (a new one: the panel booted) and `INVOCATION_ID` (a new one: systemd started
 *   the unit again; the same: the OTA loader relaunched the app inside the same run, and says
 *   how the previous launch ended in AIRPANEL_PREVIOUS_EXIT);
 * - the booted RAUC slot (`rauc.slot=`) against the slot RAUC last activated (its central
 *   status file): booted elsewhere, the bootloader fell back.
 */

/** What `record-stop` writes (strings as systemd gives them; empty when unset). */
export const StopRecord = z.object({
  bootId: z.string().max(64),
  invocationId: z.string().max(64),
  serviceResult: z.string().max(32),
  exitCode: z.string().max(32),
  exitStatus: z.string().max(32),
  at: z.string().max(40),
});
export type StopRecord = z.infer<typeof StopRecord>;

export const StartRecord = z.object({
  bootId: z.string().max(64).nullable(),
  invocationId: z.string().max(64).nullable(),
  version: z.string().max(64).nullable(),
  bootedSlot: z.string().max(16).nullable(),
  at: IsoDateTime,
});
export type StartRecord = z.infer<typeof StartRecord>;

export const LAST_START_FILE = 'last-start.json';
export const LAST_STOP_FILE = 'last-stop.json';

export interface StartFacts {
  bootId: string | null;
  invocationId: string | null;
  /** How the loader's previous launch in this run ended (`exited: code 75, signal null`, `rolled-back-crash: …`); null on its first launch. */
  previousExit: string | null;
  version: string | null;
  bootedSlot: string | null;
  /** The slot RAUC last activated (install or mark-active); null when unknown. */
  activatedSlot: string | null;
  previous: StartRecord | null;
  lastStop: StopRecord | null;
}

/** Pure: the reason for this start from what was read. */
export function decideLastStart(f: StartFacts, at: string): LastStart {
  const out = (reason: LastStartReason, detail: string | null): LastStart => ({
    reason,
    at,
    detail: detail?.slice(0, 300) ?? null,
    bootedSlot: f.bootedSlot,
  });
  const p = f.previous;
  if (!p) return out('first-start', null);
  const newBoot = f.bootId === null || p.bootId === null || f.bootId !== p.bootId;
  if (newBoot) {
    if (f.bootedSlot !== null && f.activatedSlot !== null && f.bootedSlot !== f.activatedSlot) {
      return out('slot-fallback', `slot ${f.activatedSlot} was activated but slot ${f.bootedSlot} booted`);
    }
    if (f.bootedSlot !== null && p.bootedSlot !== null && f.bootedSlot !== p.bootedSlot) {
      return out('os-update', `slot ${p.bootedSlot} (${p.version ?? '?'}) → slot ${f.bootedSlot} (${f.version ?? '?'})`);
    }
    const stopped =
      f.lastStop !== null && f.lastStop.bootId === p.bootId && (p.invocationId === null || f.lastStop.invocationId === p.invocationId);
    return stopped ? out('reboot', null) : out('power-loss', 'the previous boot ended without the app being stopped');
  }
  const versionChange = p.version !== f.version ? `${p.version ?? '?'} → ${f.version ?? '?'}` : null;
  if (f.invocationId !== null && f.invocationId === p.invocationId) {
    // The loader relaunched the app inside the same unit run.
    // A rolled-back trial may have crashed before it recorded its start: the loader says so.
    if (/^(rolled-back|fell-back)/.test(f.previousExit ?? ''))
      return out('app-rollback', versionChange ? `${versionChange} (${f.previousExit})` : f.previousExit);
    if (versionChange) return out('app-update', `${versionChange} (${f.previousExit ?? 'exit unknown'})`);
    if (f.previousExit?.includes(`code ${RESTART_EXIT_CODE}`)) return out('app-restart', `restart requested (exit ${RESTART_EXIT_CODE})`);
    return out('app-exit', f.previousExit);
  }
  const s = f.lastStop !== null && f.lastStop.invocationId === p.invocationId && f.lastStop.bootId === p.bootId ? f.lastStop : null;
  if (!s) return out('unknown', versionChange);
  const how = `${s.serviceResult}: ${s.exitCode} ${s.exitStatus}`.trim();
  switch (s.serviceResult) {
    case 'watchdog':
      return out('watchdog', how);
    case 'signal':
      return out('killed', how);
    case 'exit-code':
    case 'core-dump':
      return out('crash', how);
    case 'timeout':
      return out('start-timeout', how);
    case 'success':
      return out('stopped', how);
    default:
      return out('unknown', how);
  }
}

/** `rauc.slot=X` on the kernel command line. */
export function bootedSlotOf(cmdline: string): string | null {
  return /(?:^|\s)rauc\.slot=([A-Za-z0-9_-]{1,16})(?:\s|$)/.exec(cmdline)?.[1] ?? null;
}

/** INI groups of a GKeyFile (RAUC's system.conf and central status file). */
function keyFileGroups(text: string): Map<string, Map<string, string>> {
  const groups = new Map<string, Map<string, string>>();
  let current: Map<string, string> | null = null;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    const group = /^\[(.+)\]$/.exec(line);
    if (group) groups.set(group[1]!, (current = new Map()));
    else if (current && !line.startsWith('#')) {
      const eq = line.indexOf('=');
      if (eq > 0) current.set(line.slice(0, eq).trim(), line.slice(eq + 1).trim());
    }
  }
  return groups;
}

/**
 * The bootname of the slot RAUC activated last (`activated.timestamp` in its central status
 * file, slot names mapped to bootnames by system.conf); null when neither tells.
 */
export function activatedSlotOf(systemConf: string, centralStatus: string): string | null {
  const bootnames = new Map<string, string>();
  for (const [group, keys] of keyFileGroups(systemConf)) {
    const bootname = keys.get('bootname');
    if (group.startsWith('slot.') && bootname) bootnames.set(group.slice('slot.'.length), bootname);
  }
  let best: { at: number; slot: string } | null = null;
  for (const [group, keys] of keyFileGroups(centralStatus)) {
    const at = Date.parse(keys.get('activated.timestamp') ?? '');
    const bootname = bootnames.get(group.slice('slot.'.length));
    if (group.startsWith('slot.') && bootname && Number.isFinite(at) && (!best || at > best.at)) best = { at, slot: bootname };
  }
  return best?.slot ?? null;
}

export interface RecordStartOptions {
  dataDir: string;
  env: NodeJS.ProcessEnv;
  wallClock: WallClock;
  logger: Logger;
  /** The system's files; tests point them elsewhere. */
  paths?: { bootId?: string; cmdline?: string; raucSystemConf?: string; raucStatus?: string };
}

const readText = (path: string): Promise<string | null> =>
  readFile(path, 'utf8').then(
    (t) => t.slice(0, 256 * 1024),
    () => null,
  );

async function readJson<T>(path: string, schema: z.ZodType<T>, logger: Logger): Promise<T | null> {
  const text = await readText(path);
  if (text === null) return null;
  try {
    return schema.parse(JSON.parse(text));
  } catch (err) {
    logger.warn('restart record unreadable; ignored', { file: path, error: String(err).slice(0, 300) });
    return null;
  }
}

/**
 * Reads what the last run left, decides why this start happened, and records this start for
 * the next one (atomically). Never throws: a reason it cannot tell is `unknown`.
 */
export async function recordStart(o: RecordStartOptions): Promise<LastStart> {
  const paths = {
    bootId: '/proc/sys/kernel/random/boot_id',
    cmdline: '/proc/cmdline',
    raucSystemConf: '/etc/rauc/system.conf',
    raucStatus: '/data/rauc/central.raucs',
    ...o.paths,
  };
  const [bootIdText, cmdline, systemConf, raucStatus, previous, lastStop] = await Promise.all([
    readText(paths.bootId),
    readText(paths.cmdline),
    readText(paths.raucSystemConf),
    readText(paths.raucStatus),
    readJson(join(o.dataDir, LAST_START_FILE), StartRecord, o.logger),
    readJson(join(o.dataDir, LAST_STOP_FILE), StopRecord, o.logger),
  ]);
  const facts: StartFacts = {
    bootId: bootIdText?.trim().slice(0, 64) || null,
    invocationId: o.env.INVOCATION_ID?.slice(0, 64) || null,
    previousExit: o.env.AIRPANEL_PREVIOUS_EXIT?.slice(0, 100) || null,
    version: o.env.AIRPANEL_BUNDLE_VERSION?.slice(0, 64) || null,
    bootedSlot: cmdline === null ? null : bootedSlotOf(cmdline),
    activatedSlot: systemConf !== null && raucStatus !== null ? activatedSlotOf(systemConf, raucStatus) : null,
    previous,
    lastStop,
  };
  const at = new Date(o.wallClock.now()).toISOString();
  const lastStart = LastStart.parse(decideLastStart(facts, at));
  const record: StartRecord = {
    bootId: facts.bootId,
    invocationId: facts.invocationId,
    version: facts.version,
    bootedSlot: facts.bootedSlot,
    at,
  };
  await writeFileAtomic(join(o.dataDir, LAST_START_FILE), `${JSON.stringify(record)}\n`).catch((err: unknown) =>
    o.logger.error('could not record this start', { error: String(err) }),
  );
  o.logger.info('app start', { ...lastStart });
  return lastStart;
}
