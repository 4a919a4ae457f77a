/**
 * Child entry of the boot and change-to-pixel benchmarks: a panel as the headless host runs
 * it (HeadlessHost serving the built renderer + the real PanelCore), reporting timestamped
 * events as JSON lines on stdout. Timestamps are epoch milliseconds with sub-millisecond
 * resolution (performance.timeOrigin + performance.now()), comparable across processes on
 * one machine.
 *
 *   node <bundle of this file> <dataDir> <rendererDir> [<CoreTuning overrides as JSON>]
 *
 * Events: {event:'origin', at} (this process's time origin, i.e. its start),
 * {event:'modules', at} (the bundle and its packages are loaded),
 * {event:'ready', at, url, state} (listening, core started),
 * {event:'frame', at, kind, revision} (each framePresented the renderer reports).
 * SIGTERM stops the core and the host.
 */
import got from 'got';
import mqtt from 'mqtt';
import type { FramePresented } from '@airpanel/contract/internal';
import { PanelCore, loadPanelConfig, createPanelLogger, type PanelViewSource, type CoreTuning } from '../../../src-main/core/index.js';
import { HeadlessHost } from '../../../src-main/headless/headless-host.js';

const now = () => performance.timeOrigin + performance.now();
const emit = (e: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(e)}\n`);

/** The core behind the bridge, with framePresented timestamped on arrival. */
export function timedSource(core: PanelCore, onFrame: (frame: FramePresented, at: number) => void): PanelViewSource {
  return {
    getView: () => core.getView(),
    onView: (listener) => core.onView(listener),
    framePresented: (frame) => {
      onFrame(frame, now());
      core.framePresented(frame);
    },
    rendererError: (report) => core.rendererError(report),
    hostFault: (code, detail) => core.hostFault(code, detail),
  };
}

async function main(dataDir: string, rendererDir: string, tuning: Partial<CoreTuning>): Promise<void> {
  emit({ event: 'origin', at: performance.timeOrigin });
  // Static imports are evaluated before this line runs: their cost is modules − origin.
  emit({ event: 'modules', at: now() });
  const logger = createPanelLogger({ dataDir, stdout: false });
  const host = new HeadlessHost({ rendererDir });
  const core = new PanelCore({
    dataDir,
    config: await loadPanelConfig(dataDir),
    logger,
    mqttConnect: (url, options) => mqtt.connect(url, options),
    http: got,
    hostActions: host.actions,
    firmwareVersion: 'bench',
    tuning,
  });
  const url = await host.listen(timedSource(core, (frame, at) => emit({ event: 'frame', at, kind: frame.kind, revision: frame.revision })));
  await core.start();
  emit({ event: 'ready', at: now(), url, state: core.state.name });
  process.once('SIGTERM', () => {
    void (async () => {
      await core.stop();
      await host.close();
      logger.close();
      process.exit(0);
    })();
  });
}

const [dataDir, rendererDir, tuningJson] = process.argv.slice(2);
if (!dataDir || !rendererDir) throw new Error('usage: headless-panel <dataDir> <rendererDir> [tuning JSON]');
await main(dataDir, rendererDir, tuningJson ? (JSON.parse(tuningJson) as Partial<CoreTuning>) : {});
