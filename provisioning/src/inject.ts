import { mkdir } from 'node:fs/promises';
import { posix } from 'node:path';
import type { PanelConfig } from '@airpanel/contract';
import type { DataPartition, DataPartitionInfo, FsFile } from './disk.js';
import { ProvisionError } from './errors.js';
import {
  CA_FILE,
  CLIENT_CERT_FILE,
  CLIENT_KEY_FILE,
  PANEL_DATA_DIR,
  PANEL_JSON,
  chownOrExplain,
  isInlinePem,
  parsePanelConfig,
  readIfExists,
  serializePanelConfig,
  type Owner,
} from './panel-file.js';
import { writeFileAtomic } from '@airpanel/node-support/atomic-file';

/** The panel's data dir inside the data partition (mounted at /data on the panel). */
export const DATA_DIR_IN_PARTITION = 'airpanel';

/** Where panel.json goes: the data partition of an image/card, or a data dir on a mounted filesystem. */
export type PanelTarget = { kind: 'image'; path: string } | { kind: 'dir'; path: string; owner?: Owner };

export interface InjectRequest {
  config: PanelConfig;
  /**
   * PEM of the CA the panel trusts for every connection (`--ca`), written beside panel.json as
   * ca.pem; `caFile` then points at it. Without it, a CA inside panel.json (as `register`
   * saves the backend's answer) is written out the same way.
   */
  brokerCa?: Buffer;
  /** Replace another panel's identity (or an unreadable panel.json). */
  force: boolean;
}

export interface InjectResult {
  config: PanelConfig;
  bytes: Buffer;
  /** The panel id that was there before, if any. */
  replaced: string | null;
  partition?: DataPartitionInfo;
}

/** Refuses to overwrite another panel's identity unless forced. */
export function checkIdentity(existing: Buffer | null, nextPanelId: string | null, force: boolean, where: string): string | null {
  if (!existing) return null;
  let previous: PanelConfig;
  try {
    previous = parsePanelConfig(existing, where);
  } catch (e) {
    if (force) return '(unreadable)';
    throw new ProvisionError(`${(e as Error).message}. Refusing to overwrite it without --force.`);
  }
  if (previous.panelId !== nextPanelId && !force) {
    throw new ProvisionError(
      `${where} already holds panel ${previous.panelId} (${previous.name}). ` +
        "Refusing to overwrite another panel's identity; pass --force if this card really changes panel.",
    );
  }
  return previous.panelId;
}

/**
 * The files to write beside panel.json and the panel.json that points at them (paths on the
 * panel): the CA (ca.pem, 0644) and the client certificate and key (client.pem, client.key,
 * 0600: the key is the panel's credential), taken from `--ca` or from PEM text inside panel.json.
 */
export function planFiles(req: InjectRequest, panelDataDir: string): { config: PanelConfig; files: FsFile[] } {
  let config: PanelConfig = req.config;
  const files: FsFile[] = [];
  const ca = req.brokerCa ?? (isInlinePem(config.caFile) ? Buffer.from(config.caFile!) : null);
  if (ca) {
    if (config.endpoints.mqttUrl && !/^(mqtts|wss):/.test(config.endpoints.mqttUrl)) {
      throw new ProvisionError(`a CA was given but the panel's MQTT URL ${config.endpoints.mqttUrl} does not use TLS`);
    }
    files.push({ path: CA_FILE, data: ca, mode: 0o644 });
    // One CA for everything: the older MQTT-only field would name a second one.
    config = { ...config, caFile: posix.join(panelDataDir, CA_FILE), mqttCaFile: null };
  }
  const certInline = isInlinePem(config.clientCertFile);
  const keyInline = isInlinePem(config.clientKeyFile);
  if (certInline !== keyInline) {
    throw new ProvisionError(
      'panel.json holds a client certificate without its key, or a key without its certificate (register --client-cert writes both)',
    );
  }
  if (certInline && keyInline) {
    files.push({ path: CLIENT_CERT_FILE, data: Buffer.from(config.clientCertFile!), mode: 0o600 });
    files.push({ path: CLIENT_KEY_FILE, data: Buffer.from(config.clientKeyFile!), mode: 0o600 });
    config = {
      ...config,
      clientCertFile: posix.join(panelDataDir, CLIENT_CERT_FILE),
      clientKeyFile: posix.join(panelDataDir, CLIENT_KEY_FILE),
    };
  }
  files.push({ path: PANEL_JSON, data: serializePanelConfig(config), mode: 0o600 });
  return { config, files };
}

export async function injectPanel(partitions: DataPartition, target: PanelTarget, req: InjectRequest): Promise<InjectResult> {
  if (target.kind === 'dir') {
    // caFile is a path on the panel, where the data dir is always /data/airpanel (the
    // directory given here may be that partition mounted elsewhere, e.g. under /media).
    const { config, files } = planFiles(req, PANEL_DATA_DIR);
    const jsonPath = posix.join(target.path, PANEL_JSON);
    const replaced = checkIdentity(await readIfExists(jsonPath), config.panelId, req.force, jsonPath);
    await mkdir(target.path, { recursive: true });
    for (const f of files) await writeFileAtomic(posix.join(target.path, f.path), f.data, { mode: f.mode, owner: target.owner });
    if (target.owner) await chownOrExplain(target.path, target.owner);
    return { config, bytes: files[files.length - 1]!.data, replaced };
  }
  const { config, files } = planFiles(req, PANEL_DATA_DIR);
  const inPart = files.map((f) => ({ ...f, path: `${DATA_DIR_IN_PARTITION}/${f.path}` }));
  const where = `${target.path}: /data/${DATA_DIR_IN_PARTITION}/${PANEL_JSON}`;
  return partitions.open(target.path, async (fs, info) => {
    const replaced = checkIdentity(await fs.readFile(`${DATA_DIR_IN_PARTITION}/${PANEL_JSON}`), config.panelId, req.force, where);
    await fs.writeFiles(inPart);
    return { result: { config, bytes: files[files.length - 1]!.data, replaced, partition: info }, changed: true };
  });
}

/**
 * Checks, before anything is registered, that a target can take a new identity: the image has
 * a clean data partition, and holds no other panel's panel.json unless forced. `panelId` null:
 * the backend will choose it, so any existing identity is another panel's.
 */
export async function precheckTarget(
  partitions: DataPartition,
  target: PanelTarget,
  panelId: string | null,
  force: boolean,
): Promise<void> {
  if (target.kind === 'dir') {
    const jsonPath = posix.join(target.path, PANEL_JSON);
    checkIdentity(await readIfExists(jsonPath), panelId, force, jsonPath);
    return;
  }
  const where = `${target.path}: /data/${DATA_DIR_IN_PARTITION}/${PANEL_JSON}`;
  await partitions.open(target.path, async (fs) => {
    checkIdentity(await fs.readFile(`${DATA_DIR_IN_PARTITION}/${PANEL_JSON}`), panelId, force, where);
    return { result: undefined, changed: false };
  });
}

export interface ShowResult {
  bytes: Buffer;
  config: PanelConfig;
  where: string;
}

/** Reads panel.json back from an image, a data dir, or a file (validated). */
export async function readPanel(partitions: DataPartition, target: PanelTarget | { kind: 'file'; path: string }): Promise<ShowResult> {
  let bytes: Buffer | null;
  let where: string;
  if (target.kind === 'image') {
    where = `${target.path}: /data/${DATA_DIR_IN_PARTITION}/${PANEL_JSON}`;
    bytes = await partitions.open(target.path, async (fs) => ({
      result: await fs.readFile(`${DATA_DIR_IN_PARTITION}/${PANEL_JSON}`),
      changed: false,
    }));
  } else {
    where = target.kind === 'dir' ? posix.join(target.path, PANEL_JSON) : target.path;
    bytes = await readIfExists(where);
  }
  if (!bytes) throw new ProvisionError(`${where} does not exist: this panel has not been provisioned`);
  return { bytes, config: parsePanelConfig(bytes, where), where };
}
