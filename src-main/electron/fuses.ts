import { FuseV1Options, FuseVersion, getCurrentFuseWire } from '@electron/fuses';

/**
 * The Electron fuses of the panel's runtime: switches compiled into the Electron binary that
 * electron-builder flips at packaging (`electronFuses` in electron-builder.yml) and that no
 * command line, environment variable or file on /data can turn back. One table, read by the
 * packaging test (the yml must set each of them, to this value) and by `check-fuses.ts` (the
 * image build reads them back from the packaged binary).
 */

/** electron-builder's `electronFuses` keys, in the order of Electron's V1 fuse wire. */
export const FUSE_KEYS = [
  'runAsNode',
  'enableCookieEncryption',
  'enableNodeOptionsEnvironmentVariable',
  'enableNodeCliInspectArguments',
  'enableEmbeddedAsarIntegrityValidation',
  'onlyLoadAppFromAsar',
  'loadBrowserProcessSpecificV8Snapshot',
  'grantFileProtocolExtraPrivileges',
] as const;
export type FuseKey = (typeof FUSE_KEYS)[number];

/** Index of each key on the wire (@electron/fuses' FuseV1Options). */
export const WIRE_INDEX: Record<FuseKey, FuseV1Options> = {
  runAsNode: FuseV1Options.RunAsNode,
  enableCookieEncryption: FuseV1Options.EnableCookieEncryption,
  enableNodeOptionsEnvironmentVariable: FuseV1Options.EnableNodeOptionsEnvironmentVariable,
  enableNodeCliInspectArguments: FuseV1Options.EnableNodeCliInspectArguments,
  enableEmbeddedAsarIntegrityValidation: FuseV1Options.EnableEmbeddedAsarIntegrityValidation,
  onlyLoadAppFromAsar: FuseV1Options.OnlyLoadAppFromAsar,
  loadBrowserProcessSpecificV8Snapshot: FuseV1Options.LoadBrowserProcessSpecificV8Snapshot,
  grantFileProtocolExtraPrivileges: FuseV1Options.GrantFileProtocolExtraPrivileges,
};

export interface FuseDecision {
  on: boolean;
  why: string;
}

/** The value every fuse must have in a panel runtime, and why. */
export const PANEL_FUSES: Record<FuseKey, FuseDecision> = {
  runAsNode: {
    on: false,
    why: 'ELECTRON_RUN_AS_NODE would turn the runtime into a plain Node that runs any script it is given',
  },
  enableCookieEncryption: {
    on: false,
    why: 'the panel keeps no cookies; on Linux the key would come from a desktop keyring the kiosk does not run',
  },
  enableNodeOptionsEnvironmentVariable: {
    on: false,
    why: 'NODE_OPTIONS / NODE_EXTRA_CA_CERTS could preload code or add trust anchors to the main process',
  },
  enableNodeCliInspectArguments: {
    on: false,
    why: '--inspect* (and SIGUSR1) would open a debugger port into the main process',
  },
  enableEmbeddedAsarIntegrityValidation: {
    on: false,
    why: "Electron validates asar integrity on macOS and Windows only; on Linux it checks nothing, and the runtime app is a directory (resources/app, the loader's runtime-app) in the read-only root",
  },
  onlyLoadAppFromAsar: {
    on: false,
    why: 'the image replaces app.asar by the directory resources/app (runtime-app, src-main/loader/README.md); without Linux asar integrity the fuse would add no check, the read-only root protects resources/ either way',
  },
  loadBrowserProcessSpecificV8Snapshot: {
    on: false,
    why: 'no browser-process V8 snapshot is shipped',
  },
  grantFileProtocolExtraPrivileges: {
    on: false,
    why: 'the app is served from app://, never from file://; file:// pages get no fetch, service workers or universal access',
  },
};

/** The `electronFuses` section electron-builder.yml must hold. */
export function expectedElectronBuilderFuses(): Record<FuseKey, boolean> {
  return Object.fromEntries(FUSE_KEYS.map((k) => [k, PANEL_FUSES[k].on])) as Record<FuseKey, boolean>;
}

/** What is wrong with an `electronFuses` section (missing or different fuses); empty when right. */
export function checkElectronBuilderFuses(section: unknown): string[] {
  if (section === null || typeof section !== 'object') return ['electronFuses is missing'];
  const given = section as Record<string, unknown>;
  const problems: string[] = [];
  for (const key of FUSE_KEYS) {
    const want = PANEL_FUSES[key].on;
    if (!(key in given)) problems.push(`electronFuses.${key} is missing (must be ${want}: ${PANEL_FUSES[key].why})`);
    else if (given[key] !== want)
      problems.push(`electronFuses.${key} is ${JSON.stringify(given[key])}, must be ${want} (${PANEL_FUSES[key].why})`);
  }
  return problems;
}

export type FuseReading = 'enabled' | 'disabled' | 'inherited' | 'removed' | 'unknown';

export interface FuseWireReport {
  /** One line per fuse on the wire, by name (or `fuse #N` past the ones this table knows). */
  fuses: { name: string; state: FuseReading }[];
  problems: string[];
}

/** The bytes of a fuse on the wire (@electron/fuses' FuseState, which its index does not export). */
const FUSE_BYTE: Record<number, FuseReading> = { 0x30: 'disabled', 0x31: 'enabled', 0x72: 'removed', 0x90: 'inherited' };

function reading(state: number | undefined): FuseReading {
  return (state !== undefined && FUSE_BYTE[state]) || 'unknown';
}

/**
 * Compares a fuse wire as @electron/fuses reads it (`{ version, 0: state, 1: state, … }`)
 * with PANEL_FUSES. A fuse the binary marks removed is accepted (that Electron no longer has
 * the feature); fuses past the known ones (newer Electron) are listed, not judged.
 */
export function checkFuseWire(wire: Record<string, unknown>): FuseWireReport {
  const problems: string[] = [];
  if (String(wire.version) !== FuseVersion.V1) problems.push(`fuse wire version ${String(wire.version)}, expected ${FuseVersion.V1}`);
  const indices = Object.keys(wire)
    .filter((k) => /^\d+$/.test(k))
    .map(Number)
    .sort((a, b) => a - b);
  const byIndex = new Map(FUSE_KEYS.map((k) => [WIRE_INDEX[k] as number, k]));
  const fuses = indices.map((i) => ({ name: byIndex.get(i) ?? `fuse #${i}`, state: reading(wire[i] as number | undefined) }));
  for (const key of FUSE_KEYS) {
    const state = reading(wire[WIRE_INDEX[key]] as number | undefined);
    const want = PANEL_FUSES[key].on ? 'enabled' : 'disabled';
    if (state === 'removed') continue;
    if (state !== want)
      problems.push(`${key} is ${state === 'unknown' ? 'not on the wire' : state}, must be ${want} (${PANEL_FUSES[key].why})`);
  }
  return { fuses, problems };
}

/** Reads the fuse wire of an Electron binary (e.g. dist/electron/linux-unpacked/airpanel). */
export async function readFuseWire(binary: string): Promise<FuseWireReport> {
  const wire = await getCurrentFuseWire(binary);
  return checkFuseWire(wire as unknown as Record<string, unknown>);
}
