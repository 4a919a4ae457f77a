import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PanelConfig, panelTopics } from '@airpanel/contract';
import { createFetchTransport } from '@airpanel/contract/api';
import { runCli, type CliDeps } from './cli.js';
import { ProcessToolRunner } from './tools.js';

const panelJson = (panelId: string) =>
  PanelConfig.parse({
    schemaVersion: 1,
    panelId,
    apiKey: 'k'.repeat(40),
    name: `Panel ${panelId}`,
    endpoints: { apiBaseUrl: 'http://127.0.0.1:1/api/v1', mqttUrl: null, topics: panelTopics(panelId) },
  });

describe('provision inject --sensor', () => {
  let work: string;
  beforeEach(async () => {
    work = await mkdtemp(join(tmpdir(), 'airpanel-sensor-inject-'));
  });
  afterEach(() => rm(work, { recursive: true, force: true }));

  function cli() {
    const out: string[] = [];
    const err: string[] = [];
    const deps: CliDeps = {
      http: { transport: createFetchTransport(), timeoutMs: 5_000 },
      tools: new ProcessToolRunner(30_000),
      env: {},
      tmpDir: work,
      cwd: work,
      out: (l) => out.push(l),
      err: (l) => err.push(l),
    };
    return { deps, out, err };
  }

  it('writes the sensor into the data dir, "none" removes it, a bad one is refused with nothing written', async () => {
    await writeFile(join(work, 'panel-042.json'), JSON.stringify(panelJson('panel-042')));
    const dataDir = join(work, 'data');
    const ok = cli();
    expect(
      await runCli(['inject', '--config', 'panel-042.json', '--data-dir', dataDir, '--sensor', 'sds011:/dev/ttyUSB0'], ok.deps),
      ok.err.join('\n'),
    ).toBe(0);
    const written = JSON.parse(await readFile(join(dataDir, 'panel.json'), 'utf8')) as PanelConfig;
    expect(written.sensor).toEqual({ kind: 'sds011', device: '/dev/ttyUSB0' });
    const show = cli();
    expect(await runCli(['show', '--data-dir', dataDir], show.deps), show.err.join('\n')).toBe(0);
    expect(show.out.join('\n')).toMatch(/sensor: +sds011 \/dev\/ttyUSB0/);

    const bad = cli();
    expect(await runCli(['inject', '--config', 'panel-042.json', '--data-dir', dataDir, '--sensor', 'sds011:ttyUSB0'], bad.deps)).toBe(2);
    expect(bad.err.join('\n')).toMatch(/--sensor: .*\/dev/);
    expect((JSON.parse(await readFile(join(dataDir, 'panel.json'), 'utf8')) as PanelConfig).sensor).toEqual({
      kind: 'sds011',
      device: '/dev/ttyUSB0',
    });

    const none = cli();
    expect(
      await runCli(['inject', '--config', 'panel-042.json', '--data-dir', dataDir, '--sensor', 'none', '--force'], none.deps),
      none.err.join('\n'),
    ).toBe(0);
    expect((JSON.parse(await readFile(join(dataDir, 'panel.json'), 'utf8')) as PanelConfig).sensor).toBe(null);
  });
});
