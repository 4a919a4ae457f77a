// PanelCore with a bad panel.json, and the operator's commands over MQTT.
import { readFile } from 'node:fs/promises';
import { randomUUID } from 'node:crypto';
import got from 'got';
import { connect } from 'mqtt';
import { describe, expect, it } from 'vitest';
import { type Command, PanelStatus, type UpdateReport } from '@airpanel/contract';
import { endpoints, fillPath } from '@airpanel/contract/api';
import { LastKnownGoodCache } from './cache.js';
import type { UpdateChecker } from './commands.js';
import { loadPanelConfig } from './config.js';
import { dataDirPaths } from './data-dir.js';
import { PanelCore } from './panel-core.js';
import {
  capturingLogger,
  makeConfig,
  makeDataDir,
  makeDocument,
  RecordingHostActions,
  waitFor,
  writePanelJson,
} from './testing/fixtures.js';
import type { LoopbackBroker } from './testing/loopback-broker.js';
import {
  PANEL,
  topics,
  cleanups,
  useCleanups,
  startPanel,
  startBroker,
  startBackend,
  statuses,
  events,
  countLogs,
} from './panel-core.test-support.js';

useCleanups();

describe('PanelCore with a bad panel.json', () => {
  it('shows maintenance CFG-1 when panel.json is missing and there is no cache', async () => {
    const { dir, cleanup } = await makeDataDir();
    cleanups.push(cleanup);
    const { logger, entries } = capturingLogger();
    const core = new PanelCore({
      dataDir: dir,
      config: await loadPanelConfig(dir),
      mqttConnect: connect,
      http: got,
      hostActions: new RecordingHostActions(),
      logger,
      firmwareVersion: 't',
    });
    cleanups.push(() => core.stop());
    await core.start();
    expect(core.getView()).toEqual({ kind: 'maintenance', code: 'CFG-1' });
    expect(entries.find((e) => e.message === 'panel config unusable')).toMatchObject({ code: 'CFG-1' });
  });

  it('logs exactly which field is wrong (CFG-3) and still shows cached content', async () => {
    const { dir, cleanup } = await makeDataDir();
    cleanups.push(cleanup);
    const { logger, entries } = capturingLogger();
    await new LastKnownGoodCache({ dataDir: dir, wallClock: { now: Date.now }, logger }).save(makeDocument(PANEL, 4));
    await writePanelJson(dir, { ...makeConfig(PANEL, 'http://127.0.0.1:1', null), heartbeatSeconds: 1 });
    const core = new PanelCore({
      dataDir: dir,
      config: await loadPanelConfig(dir),
      mqttConnect: connect,
      http: got,
      hostActions: new RecordingHostActions(),
      logger,
      firmwareVersion: 't',
    });
    cleanups.push(() => core.stop());
    await core.start();
    expect(core.getView()).toMatchObject({ kind: 'content', document: { revision: 4 } });
    const line = entries.find((e) => e.message === 'panel config unusable')!;
    expect(line).toMatchObject({ code: 'CFG-3', fields: [{ path: 'heartbeatSeconds' }] });
    expect(String(line.detail)).toContain('heartbeatSeconds');
    expect(await readFile(dataDirPaths(dir).config, 'utf8')).toContain('"heartbeatSeconds":1');
  });
});

describe('PanelCore commands', () => {
  function command(kind: Command['kind'], overrides: Partial<Command> = {}): Command {
    const now = Date.now();
    return {
      id: randomUUID(),
      panelId: PANEL,
      kind,
      issuedAt: new Date(now).toISOString(),
      expiresAt: new Date(now + 60_000).toISOString(),
      ...overrides,
    };
  }

  function acksFor(broker: LoopbackBroker, id: string): string[] {
    return events(broker).flatMap((e) =>
      e.type === 'command-ack' && e.ack.commandId === id ? [`${e.ack.status}${e.ack.detail ? `: ${e.ack.detail}` : ''}`] : [],
    );
  }

  it('acks every command: accepted at once, then done / failed / rejected', async () => {
    const broker = await startBroker();
    const backend = await startBackend();
    const checker: UpdateChecker = { checkNow: async () => 'up to date (1.2.3-test)' };
    const { host, logs } = await startPanel({ apiBaseUrl: backend.url, mqttUrl: broker.url, updateChecker: checker });
    await waitFor('mqtt up', () => countLogs(logs, 'mqtt up') === 1);
    const send = (c: Command) => broker.publish(topics.commands, JSON.stringify(c), false);

    const reload = command('reload');
    await send(reload);
    await waitFor('reload done', () => acksFor(broker, reload.id).length === 2);
    expect(acksFor(broker, reload.id)).toEqual(['accepted', 'done: renderer reloaded']);
    await send(reload);

    const update = command('check-update');
    await send(update);
    await waitFor('update done', () => acksFor(broker, update.id).length === 2);
    expect(acksFor(broker, update.id)).toEqual(['accepted', 'done: up to date (1.2.3-test)']);

    const shot = command('screenshot');
    await send(shot);
    await waitFor('screenshot done', () => acksFor(broker, shot.id).length === 2);
    expect(acksFor(broker, shot.id)).toEqual(['accepted', 'done: uploaded 7 bytes']);
    const put = backend.requests.find((r) => r.method === 'PUT')!;
    expect(put).toMatchObject({
      url: fillPath(endpoints.uploadScreenshot.path, { panelId: PANEL }),
      contentType: 'image/png',
      authorization: `Bearer ${'k'.repeat(40)}`,
    });
    expect([...backend.screenshots[0]!]).toEqual([0x89, 0x50, 0x4e, 0x47, 1, 2, 3]);

    backend.screenshotStatus = 404;
    const shot404 = command('screenshot');
    await send(shot404);
    await waitFor('screenshot failed', () => acksFor(broker, shot404.id).length === 2);
    expect(acksFor(broker, shot404.id)).toEqual(['accepted', 'failed: screenshot upload failed: HTTP 404']);

    const expired = command('reload', { expiresAt: new Date(Date.now() - 1_000).toISOString() });
    await send(expired);
    const foreign = command('reload', { panelId: 'panel-002' });
    await send(foreign);
    await waitFor('rejections', () => acksFor(broker, expired.id).length === 1 && acksFor(broker, foreign.id).length === 1);
    expect(acksFor(broker, expired.id)[0]).toMatch(/^rejected: expired at /);
    expect(acksFor(broker, foreign.id)).toEqual(['rejected: command is for panel panel-002']);

    const restart = command('restart');
    await send(restart);
    await waitFor('restart', () => host.calls.includes('restart'));
    expect(acksFor(broker, restart.id)).toEqual(['accepted', 'done: restarting']);
    // The duplicate reload was neither run nor acked again.
    expect(host.calls).toEqual(['reload', 'screenshot', 'screenshot', 'restart']);
    expect(acksFor(broker, reload.id)).toHaveLength(2);
  });

  it('publishes the updater report in the status, spacing out progress reports', async () => {
    const broker = await startBroker();
    const backend = await startBackend();
    const listeners = new Set<(r: UpdateReport) => void>();
    let report: UpdateReport = { phase: 'idle', targetVersion: null, progress: null, detail: null, at: new Date().toISOString() };
    const updater: UpdateChecker = {
      checkNow: async () => 'up to date',
      getReport: () => report,
      onReport: (listener) => {
        listeners.add(listener);
        return () => listeners.delete(listener);
      },
    };
    const emit = (next: Partial<UpdateReport>) => {
      report = { ...report, ...next, at: new Date().toISOString() };
      for (const l of listeners) l(report);
    };
    const { logs } = await startPanel({ apiBaseUrl: backend.url, mqttUrl: broker.url, updateChecker: updater });
    await waitFor('mqtt up', () => countLogs(logs, 'mqtt up') === 1);
    await waitFor('idle report in status', () => statuses(broker).some((s) => s.update?.phase === 'idle'));

    for (let i = 1; i <= 9; i++) emit({ phase: 'downloading', targetVersion: '2.0.0', progress: i / 10 });
    await waitFor('last progress in status', () => statuses(broker).some((s) => s.update?.progress === 0.9), 5_000);
    const downloading = statuses(broker).filter((s) => s.update?.phase === 'downloading');
    expect(downloading.length).toBeLessThanOrEqual(2);
    expect(downloading.every((s) => PanelStatus.safeParse(s).success)).toBe(true);
  });

  it('rejects check-update without an updater, with a clear detail', async () => {
    const broker = await startBroker();
    const backend = await startBackend();
    const { logs } = await startPanel({ apiBaseUrl: backend.url, mqttUrl: broker.url });
    await waitFor('mqtt up', () => countLogs(logs, 'mqtt up') === 1);
    const update = command('check-update');
    await broker.publish(topics.commands, JSON.stringify(update), false);
    await waitFor('ack', () => acksFor(broker, update.id).length === 1);
    expect(acksFor(broker, update.id)).toEqual(['rejected: no updater in this build: check-update is not available']);
  });
});
