// A panel as a real process: the PanelCore from a data dir, as a host would start it, for
// tests that kill it with SIGKILL. Every view change is written to stdout as one JSON line
// with a synchronous write, before the core goes on (so before it starts writing the cache
// for that document): the parent knows every revision that was ever on screen.
//
//   node panel-runner.js --data-dir DIR     (AIRPANEL_TEST_TUNING = JSON of CoreTuning overrides)
import { writeSync } from 'node:fs';
import { parseArgs } from 'node:util';
import got from 'got';
import mqtt from 'mqtt';
import type { PanelView } from '@airpanel/contract/internal';
import { createPanelLogger, loadPanelConfig, PanelCore, type CoreTuning } from '../../../src-main/core/index.js';

function emit(line: Record<string, unknown>): void {
  writeSync(1, `${JSON.stringify(line)}\n`);
}

function describeView(view: PanelView): Record<string, unknown> {
  if (view.kind === 'content') return { kind: 'content', revision: view.document.revision, stale: view.stale !== null };
  if (view.kind === 'maintenance') return { kind: 'maintenance', code: view.code };
  return { kind: view.kind };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { 'data-dir': { type: 'string' } } });
  const dataDir = values['data-dir'];
  if (!dataDir) throw new Error('--data-dir is required');
  const tuning = JSON.parse(process.env['AIRPANEL_TEST_TUNING'] ?? '{}') as Partial<CoreTuning>;
  const logger = createPanelLogger({ dataDir, stdout: false, level: 'warn' });
  const core = new PanelCore({
    dataDir,
    config: await loadPanelConfig(dataDir),
    mqttConnect: (url, options) => mqtt.connect(url, options),
    http: got,
    hostActions: {
      reloadRenderer: async () => undefined,
      restartApp: async () => undefined,
      captureScreenshot: async () => null,
    },
    logger,
    firmwareVersion: '1.0.0-panel-runner',
    tuning,
  });
  // The core's timers are unref'd (an idle core never keeps a process alive by itself): between
  // an MQTT connection lost and the next attempt nothing else would. A host keeps itself alive.
  const keepAlive = setInterval(() => undefined, 60_000);
  core.onView((view) => emit({ type: 'view', ...describeView(view) }));
  await core.start();
  emit({ type: 'started', state: core.state.name, ...describeView(core.getView()) });
  process.once('SIGTERM', () => {
    void core.stop().then(() => {
      clearInterval(keepAlive);
      logger.close();
      process.exit(0);
    });
  });
}

main().catch((err: unknown) => {
  emit({ type: 'fatal', error: String(err) });
  process.exit(1);
});
