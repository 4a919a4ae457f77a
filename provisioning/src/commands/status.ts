// `status`: asks the backend what it last heard from a panel.
import { resolve } from 'node:path';
import { ProvisionError, UsageError } from '../errors.js';
import { parsePanelConfig, readIfExists } from '../panel-file.js';
import { fetchPanelStatus } from '../register.js';
import { str, type Values } from './arguments.js';
import type { CliDeps } from './deps.js';

export async function status(v: Values, deps: CliDeps): Promise<void> {
  let id = str(v, 'id');
  let api = str(v, 'api') ?? deps.env.AIRPANEL_API;
  const configPath = str(v, 'config');
  if (configPath) {
    const path = resolve(deps.cwd, configPath);
    const bytes = await readIfExists(path);
    if (!bytes) throw new ProvisionError(`${path} does not exist`);
    const config = parsePanelConfig(bytes, path);
    id ??= config.panelId;
    api ??= config.endpoints.apiBaseUrl;
  }
  if (!id) throw new UsageError('status: give --id or --config (see --help)');
  if (!api) throw new UsageError('status: --api is required (or set AIRPANEL_API)');
  const adminToken = str(v, 'admin-token') ?? deps.env.AIRPANEL_ADMIN_TOKEN ?? '';
  const s = await fetchPanelStatus(deps.http, api, adminToken, id);
  deps.out(`panel ${s.id} (${s.name}): ${s.online ? 'ONLINE' : 'offline'}`);
  deps.out(`  last seen:  ${s.lastSeenAt ?? 'never'}`);
  deps.out(`  state:      ${s.state ?? '-'}`);
  deps.out(`  firmware:   ${s.firmwareVersion ?? '-'}`);
  deps.out(`  revision:   ${s.displayedRevision ?? '-'} shown / ${s.currentRevision ?? '-'} current${s.lagging ? ' (lagging)' : ''}`);
  if (s.lastError) deps.out(`  last error: ${s.lastError}`);
}
