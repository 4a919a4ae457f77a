// `inject`: writes a saved panel.json into an image, a card or a data dir (also used by `register`).
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { PanelConfig } from '@airpanel/contract';
import { parseSensorArgument } from '@airpanel/contract';
import type { DataPartition } from '../disk.js';
import { ProvisionError, UsageError } from '../errors.js';
import { injectPanel, type PanelTarget } from '../inject.js';
import { PANEL_DATA_DIR, isInlinePem, panelLabel, parseCaPem, parsePanelConfig, readIfExists } from '../panel-file.js';
import { oneTarget, parseChannel, parseOwner, required, str, type Values } from './arguments.js';
import { IMAGE_APP_OWNER, partitionsFor, type CliDeps } from './deps.js';

export interface InjectionPlan {
  target: PanelTarget;
  brokerCa?: Buffer;
  partitions: DataPartition;
}

/** The target and CA of --image/--data-dir/--ca/--owner, validated; null when no target is given. */
export async function planInjection(v: Values, deps: CliDeps, command: string): Promise<InjectionPlan | null> {
  if (!str(v, 'image') && !str(v, 'data-dir')) return null;
  const target = oneTarget(v, command, false) as PanelTarget;
  const owner = parseOwner(str(v, 'owner'));
  const caPath = str(v, 'ca');
  let brokerCa: Buffer | undefined;
  if (caPath) {
    const pem = await readIfExists(resolve(deps.cwd, caPath));
    if (!pem) throw new ProvisionError(`${caPath} does not exist`);
    brokerCa = parseCaPem(pem, caPath);
  }
  let resolved: PanelTarget;
  if (target.kind === 'dir') {
    const path = resolve(deps.cwd, target.path);
    // As root, files default to the data dir's owner (the kiosk user), or the app could not read them.
    const dirOwner =
      !owner && process.getuid?.() === 0
        ? await stat(path).then(
            (st) => ({ uid: st.uid, gid: st.gid }),
            () => undefined,
          )
        : undefined;
    const effective = owner ?? dirOwner;
    resolved = { kind: 'dir', path, ...(effective ? { owner: effective } : {}) };
  } else {
    resolved = { kind: 'image', path: resolve(deps.cwd, target.path) };
  }
  return { target: resolved, partitions: partitionsFor(deps, owner ?? IMAGE_APP_OWNER), ...(brokerCa ? { brokerCa } : {}) };
}

export async function injectAndReport(plan: InjectionPlan, config: PanelConfig, force: boolean, deps: CliDeps): Promise<void> {
  const result = await injectPanel(plan.partitions, plan.target, { config, force, ...(plan.brokerCa ? { brokerCa: plan.brokerCa } : {}) });
  const where = result.partition
    ? `${plan.target.path} (partition ${result.partition.partition.name}, ${result.partition.fs} at byte ${result.partition.offset}): /data/airpanel/panel.json`
    : `${plan.target.path}/panel.json`;
  if (result.replaced && result.replaced !== result.config.panelId) deps.out(`replaced panel ${result.replaced} (--force)`);
  const beside = [result.config.caFile, result.config.clientCertFile, result.config.clientKeyFile]
    .filter((f): f is string => f !== null && !isInlinePem(f) && f.startsWith(`${PANEL_DATA_DIR}/`))
    .map((f) => f.slice(PANEL_DATA_DIR.length + 1));
  deps.out(`wrote ${where}${beside.length ? ` and ${beside.join(', ')}` : ''}`);
}

/** `--sensor`: undefined = keep the file's, null = none. */
export function parseSensorOption(value: string | undefined): PanelConfig['sensor'] | undefined {
  if (value === undefined) return undefined;
  if (value === 'none') return null;
  const parsed = parseSensorArgument(value);
  if (!parsed.ok) throw new UsageError(`--sensor: ${parsed.message}`);
  return parsed.settings;
}

export async function inject(v: Values, deps: CliDeps): Promise<void> {
  const configPath = resolve(deps.cwd, required(v, 'config', 'inject'));
  const channel = parseChannel(str(v, 'channel'));
  const plan = await planInjection(v, deps, 'inject');
  if (!plan) throw new UsageError('inject: give exactly one of --image, --data-dir (see --help)');
  const bytes = await readIfExists(configPath);
  if (!bytes) throw new ProvisionError(`${configPath} does not exist`);
  const parsed = parsePanelConfig(bytes, configPath);
  const sensor = parseSensorOption(str(v, 'sensor'));
  const withChannel = channel ? { ...parsed, updateChannel: channel } : parsed;
  const config = sensor === undefined ? withChannel : { ...withChannel, sensor };
  await injectAndReport(plan, config, Boolean(v.force), deps);
  deps.out(panelLabel(config));
}
