import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PanelConfig, panelTopics } from '@airpanel/contract';
import type { ConfigLoadResult } from '../config.js';
import { generateReleaseKey, keyIdOf, OtaUpdater } from '../update/index.js';
import { createOtaUpdater } from './ota.js';

const quietLog = { error: () => undefined, warn: () => undefined, info: () => undefined, debug: () => undefined };
function configFor(apiBaseUrl: string, updateChannel?: string): ConfigLoadResult {
  return {
    ok: true,
    path: '/x/panel.json',
    config: PanelConfig.parse({
      schemaVersion: 1,
      panelId: 'panel-ota',
      apiKey: 'k'.repeat(40),
      name: 'P',
      endpoints: { apiBaseUrl, mqttUrl: null, topics: panelTopics('panel-ota') },
      ...(updateChannel ? { updateChannel } : {}),
    }),
  };
}
const config = configFor('http://127.0.0.1:9/api/v1');

describe('createOtaUpdater', () => {
  let dir = '';
  afterAll(() => (dir ? rm(dir, { recursive: true, force: true }) : undefined));

  const make = (over: Partial<Parameters<typeof createOtaUpdater>[0]>) =>
    createOtaUpdater({
      dataDir: dir,
      config,
      runtimeHost: 'electron',
      runtimeVersion: '45.4.1',
      appVersion: '0.1.0',
      buildTimeMs: 0,
      requestRestart: async () => undefined,
      log: quietLog,
      env: {},
      ...over,
    });

  it('is off, saying why, without release keys or without a usable panel.json', async () => {
    dir = await mkdtemp(join(tmpdir(), 'airpanel-ota-'));
    expect(make({ env: { AIRPANEL_RELEASE_KEYS: join(dir, 'none.json') } })).toEqual({
      reason: `no trusted release keys at ${join(dir, 'none.json')}`,
    });
    await writeFile(join(dir, 'bad.json'), '{"keys":[]}');
    expect(make({ env: { AIRPANEL_RELEASE_KEYS: join(dir, 'bad.json') } })).toMatchObject({ reason: expect.stringContaining('unusable') });
    expect(make({ config: { ok: false, code: 'CFG-1', path: '/x', detail: 'missing', fields: [] } })).toEqual({
      reason: 'panel.json unusable (CFG-1)',
    });
  });

  it("builds the updater from panel.json and the image keys; it asks the panel's feed with its key", async () => {
    const key = generateReleaseKey();
    expect(keyIdOf(Buffer.from(key.publicKey, 'base64'))).toBe(key.keyId);
    await writeFile(join(dir, 'keys.json'), JSON.stringify({ keys: [{ keyId: key.keyId, publicKey: key.publicKey }] }));
    const seen: string[] = [];
    const feed = createServer((req, res) => {
      seen.push(`${req.method} ${req.url} ${req.headers.authorization}`);
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":{"code":"not-found","message":"no release"}}');
    });
    await new Promise<void>((r) => feed.listen(0, '127.0.0.1', () => r()));
    try {
      const api = `http://127.0.0.1:${(feed.address() as AddressInfo).port}/api/v1`;
      const r = make({
        config: configFor(api),
        env: { AIRPANEL_RELEASE_KEYS: join(dir, 'keys.json') },
      });
      expect('updater' in r && r.updater).toBeInstanceOf(OtaUpdater);
      if (!('updater' in r)) return;
      await r.updater.checkNow();
      expect(seen[0]).toBe(`GET /api/v1/update/channels/stable/manifest Bearer ${'k'.repeat(40)}`);
      // panel.json's updateChannel picks the feed's channel.
      const beta = make({ config: configFor(api, 'beta'), env: { AIRPANEL_RELEASE_KEYS: join(dir, 'keys.json') } });
      if (!('updater' in beta)) throw new Error('no updater');
      await beta.updater.checkNow();
      expect(seen).toContain(`GET /api/v1/update/channels/beta/manifest Bearer ${'k'.repeat(40)}`);
    } finally {
      feed.closeAllConnections();
      await new Promise<void>((r) => feed.close(() => r()));
    }
  });
});
