import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CONFIG_FAULT_CODES, loadPanelConfig } from './config.js';
import { DATA_DIR_ENV, PANEL_DEFAULT_DATA_DIR, resolveDataDir } from './data-dir.js';
import { makeConfig, makeDataDir, writePanelJson } from './testing/fixtures.js';

describe('loadPanelConfig', () => {
  let dataDir: { dir: string; cleanup: () => Promise<void> };
  beforeEach(async () => {
    dataDir = await makeDataDir();
  });
  afterEach(() => dataDir.cleanup());

  it('accepts a valid panel.json and fills defaults', async () => {
    await writePanelJson(dataDir.dir, makeConfig('panel-001', 'http://127.0.0.1:1', 'mqtt://127.0.0.1:2'));
    const result = await loadPanelConfig(dataDir.dir);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.config.panelId).toBe('panel-001');
    expect(result.config.freshnessWindowSeconds).toBe(900);
    expect(result.config.pollIntervalSeconds).toBe(300);
    // A panel.json written before update channels existed follows the stable channel.
    expect(result.config.updateChannel).toBe('stable');
  });

  it('keeps the update channel of panel.json; CFG-3 for a channel no release manifest could name', async () => {
    const config = makeConfig('panel-001', 'http://127.0.0.1:1', null);
    await writePanelJson(dataDir.dir, { ...config, updateChannel: 'pilot-lyon' });
    const ok = await loadPanelConfig(dataDir.dir);
    expect(ok.ok && ok.config.updateChannel).toBe('pilot-lyon');
    await writePanelJson(dataDir.dir, { ...config, updateChannel: 'Beta Channel' });
    const bad = await loadPanelConfig(dataDir.dir);
    expect(bad.ok).toBe(false);
    if (bad.ok) return;
    expect(bad.code).toBe('CFG-3');
    expect(bad.fields.map((f) => f.path)).toEqual(['updateChannel']);
  });

  it('CFG-1 when panel.json is missing', async () => {
    const result = await loadPanelConfig(dataDir.dir);
    expect(result).toMatchObject({ ok: false, code: 'CFG-1' });
  });

  it('CFG-2 when panel.json is not JSON (truncated)', async () => {
    const text = JSON.stringify(makeConfig('panel-001', 'http://127.0.0.1:1', null));
    await writePanelJson(dataDir.dir, text.slice(0, text.length / 2));
    const result = await loadPanelConfig(dataDir.dir);
    expect(result).toMatchObject({ ok: false, code: CONFIG_FAULT_CODES.unparseable });
  });

  it('CFG-3 names exactly the wrong field', async () => {
    const config = makeConfig('panel-001', 'http://127.0.0.1:1', null);
    await writePanelJson(dataDir.dir, { ...config, endpoints: { ...config.endpoints, mqttUrl: 'ftp://nope' } });
    const result = await loadPanelConfig(dataDir.dir);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.code).toBe('CFG-3');
    expect(result.fields.map((f) => f.path)).toEqual(['endpoints.mqttUrl']);
    expect(result.detail).toContain('endpoints.mqttUrl');
  });

  it('CFG-3 for a missing required field and a bad panel id', async () => {
    const { apiKey: _drop, ...config } = makeConfig('Panel_1', 'http://127.0.0.1:1', null);
    await writePanelJson(dataDir.dir, config);
    const result = await loadPanelConfig(dataDir.dir);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.fields.map((f) => f.path).sort()).toEqual(['apiKey', 'panelId']);
  });

  it('CFG-4 when panel.json cannot be read (a directory in its place)', async () => {
    await mkdir(join(dataDir.dir, 'panel.json'));
    const result = await loadPanelConfig(dataDir.dir);
    expect(result).toMatchObject({ ok: false, code: 'CFG-4', detail: expect.stringContaining('EISDIR') });
  });

  it.skipIf(process.getuid?.() === 0)('CFG-4 when panel.json is not readable by the panel user', async () => {
    await writePanelJson(dataDir.dir, makeConfig('panel-001', 'http://127.0.0.1:1', null));
    await chmod(`${dataDir.dir}/panel.json`, 0o000);
    expect(await loadPanelConfig(dataDir.dir)).toMatchObject({ ok: false, code: 'CFG-4' });
  });
});

describe('loadPanelConfig: transport', () => {
  let dataDir: { dir: string; cleanup: () => Promise<void> };
  beforeEach(async () => {
    dataDir = await makeDataDir();
  });
  afterEach(() => dataDir.cleanup());

  it('CFG-6 for plain endpoints off loopback, naming each; allowed with allowInsecureTransport', async () => {
    const config = makeConfig('panel-001', 'http://backend.example:8080/api/v1', 'mqtt://backend.example:1883');
    await writePanelJson(dataDir.dir, config);
    const refused = await loadPanelConfig(dataDir.dir);
    expect(refused).toMatchObject({ ok: false, code: CONFIG_FAULT_CODES.plainTransport });
    if (refused.ok) return;
    expect(refused.code).toBe('CFG-6');
    expect(refused.fields.map((f) => f.path)).toEqual(['endpoints.apiBaseUrl', 'endpoints.mqttUrl']);
    expect(refused.detail).toContain('http://backend.example:8080');
    await writePanelJson(dataDir.dir, { ...config, endpoints: { ...config.endpoints, apiBaseUrl: 'https://backend.example/api/v1' } });
    expect(await loadPanelConfig(dataDir.dir)).toMatchObject({ ok: false, code: 'CFG-6', fields: [{ path: 'endpoints.mqttUrl' }] });
    await writePanelJson(dataDir.dir, { ...config, allowInsecureTransport: true });
    expect(await loadPanelConfig(dataDir.dir)).toMatchObject({ ok: true, config: { allowInsecureTransport: true } });
  });

  it('encrypted endpoints anywhere, plain ones on loopback: accepted, with the system roots when no CA is named', async () => {
    await writePanelJson(dataDir.dir, makeConfig('panel-001', 'https://backend.example/api/v1', 'mqtts://backend.example:8883'));
    const result = await loadPanelConfig(dataDir.dir);
    expect(result.ok && result.trust?.hasPrivateCa).toBe(false);
    await writePanelJson(dataDir.dir, makeConfig('panel-001', 'http://localhost:8080', 'mqtt://127.0.0.1:1883'));
    expect((await loadPanelConfig(dataDir.dir)).ok).toBe(true);
  });

  it('CFG-7 when the CA file panel.json names cannot be read or is not a CA certificate', async () => {
    const config = makeConfig('panel-001', 'https://backend.example/api/v1', 'mqtts://backend.example:8883');
    await writePanelJson(dataDir.dir, { ...config, caFile: 'ca.pem' });
    expect(await loadPanelConfig(dataDir.dir)).toMatchObject({
      ok: false,
      code: 'CFG-7',
      fields: [{ path: 'caFile' }],
      detail: expect.stringContaining('ENOENT'),
    });
    await writeFile(join(dataDir.dir, 'ca.pem'), 'garbage');
    expect(await loadPanelConfig(dataDir.dir)).toMatchObject({
      ok: false,
      code: 'CFG-7',
      detail: expect.stringContaining('no PEM certificate'),
    });
    await writePanelJson(dataDir.dir, { ...config, mqttCaFile: '/data/airpanel/broker-ca.pem' });
    expect(await loadPanelConfig(dataDir.dir)).toMatchObject({ ok: false, code: 'CFG-7', fields: [{ path: 'mqttCaFile' }] });
  });
});

describe('resolveDataDir', () => {
  it('prefers the flag, then the env, then the panel default', () => {
    expect(resolveDataDir({ flag: '/tmp/a', env: { [DATA_DIR_ENV]: '/tmp/b' } })).toBe('/tmp/a');
    expect(resolveDataDir({ env: { [DATA_DIR_ENV]: '/tmp/b' } })).toBe('/tmp/b');
    expect(resolveDataDir({ flag: ' ', env: { [DATA_DIR_ENV]: '' } })).toBe(PANEL_DEFAULT_DATA_DIR);
  });
});
