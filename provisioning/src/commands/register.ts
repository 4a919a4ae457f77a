// `register`: registers a panel with the backend, saves its panel.json, optionally injects it.
import { mkdir } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { writeFileAtomic } from '@airpanel/node-support/atomic-file';
import { PanelConfig, panelConfigFromRegistration } from '@airpanel/contract';
import { ProvisionError, UsageError } from '../errors.js';
import { checkClientCertificate, makeClientKeyAndRequest } from '../client-certificate.js';
import { precheckTarget } from '../inject.js';
import { panelLabel, readIfExists, serializePanelConfig } from '../panel-file.js';
import { registerPanel, validateCreateBody } from '../register.js';
import { parseChannel, parseNumber, required, str, type Values } from './arguments.js';
import type { CliDeps } from './deps.js';
import { injectAndReport, planInjection } from './inject.js';

export async function register(v: Values, deps: CliDeps): Promise<void> {
  const api = str(v, 'api') ?? deps.env.AIRPANEL_API;
  if (!api) throw new UsageError('register: --api is required (or set AIRPANEL_API)');
  const adminToken = str(v, 'admin-token') ?? deps.env.AIRPANEL_ADMIN_TOKEN ?? '';
  if (!adminToken) throw new UsageError('register: no admin token: pass --admin-token or set AIRPANEL_ADMIN_TOKEN');
  const name = required(v, 'name', 'register');
  const lat = parseNumber(str(v, 'lat'), 'lat');
  const lon = parseNumber(str(v, 'lon'), 'lon');
  if ((lat === undefined) !== (lon === undefined)) throw new UsageError('register: give both --lat and --lon, or neither');
  const description = str(v, 'location');
  if (!description && lat !== undefined) throw new UsageError('register: --lat/--lon need --location (a description)');
  const id = str(v, 'id');
  const channel = parseChannel(str(v, 'channel'));

  // The key never leaves this machine: only the request goes to the backend.
  const clientKey = v['client-cert'] ? await makeClientKeyAndRequest(id ?? 'new-panel') : null;
  const body = validateCreateBody({
    name,
    ...(clientKey ? { clientCertificateRequest: clientKey.requestPem } : {}),
    ...(id ? { id } : {}),
    ...(description ? { location: { description, ...(lat !== undefined ? { latitude: lat, longitude: lon } : {}) } } : {}),
    ...(str(v, 'sensor-source') ? { sensorSourceId: str(v, 'sensor-source') } : {}),
    ...(str(v, 'content-set') ? { contentSetId: str(v, 'content-set') } : {}),
    ...(str(v, 'level-scheme') ? { levelSchemeId: str(v, 'level-scheme') } : {}),
  });

  // Decide where the answer goes before registering: the API key cannot be fetched again.
  const planned = str(v, 'out') ?? (id ? `panel-${id}.json` : undefined);
  const out = planned ? resolve(deps.cwd, planned) : undefined;
  if (out && !v.force && (await readIfExists(out))) {
    throw new ProvisionError(`${out} already exists; pass --out with another file or --force`);
  }
  // The card too: a card that cannot take the identity must not cost a registration.
  const plan = await planInjection(v, deps, 'register');
  if (plan) await precheckTarget(plan.partitions, plan.target, id ?? null, Boolean(v.force));

  const reg = await registerPanel(deps.http, { api, adminToken, body });
  let clientKeyPem: string | null = null;
  if (clientKey) {
    if (!reg.clientCertificate)
      throw new ProvisionError(`registered ${reg.panel.id} but the backend sent no client certificate (is it an older version?)`);
    checkClientCertificate(reg.clientCertificate, clientKey.keyPem, reg.panel.id);
    clientKeyPem = clientKey.keyPem;
  }
  const config = PanelConfig.parse({
    ...panelConfigFromRegistration(reg),
    ...(clientKeyPem ? { clientKeyFile: clientKeyPem } : {}),
    ...(channel ? { updateChannel: channel } : {}),
  });
  const bytes = serializePanelConfig(config);
  const file = out ?? resolve(deps.cwd, `panel-${config.panelId}.json`);
  try {
    if (!out && !v.force && (await readIfExists(file))) throw new ProvisionError(`${file} already exists`);
    await mkdir(dirname(file), { recursive: true });
    await writeFileAtomic(file, bytes, { mode: 0o600 });
  } catch (e) {
    // The key is shown only once: do not lose it.
    deps.err(`could not save ${file}: ${(e as Error).message}. The panel IS registered; its panel.json follows:`);
    deps.err(bytes.toString());
    throw new ProvisionError(`registered ${config.panelId} but could not save its panel.json`);
  }
  deps.out(`registered panel ${config.panelId}; saved ${file} (mode 0600, holds the API key)`);
  if (plan) {
    try {
      await injectAndReport(plan, config, Boolean(v.force), deps);
    } catch (e) {
      throw new ProvisionError(
        `registered ${config.panelId} and saved ${file}, but could not write it to ${plan.target.path}: ` +
          `${(e as Error).message}. Fix that, then run: npm run provision -- inject --config ${file} ...`,
      );
    }
  }
  deps.out(panelLabel(config));
}
