// The one runner of "a panel as a child process": the real PanelCore from a data dir, as a host
// starts it, for tests that kill it with SIGKILL and benchmarks that time or weigh it.
//
//   node panel-child.(ts|mjs) --data-dir DIR [--renderer-dir DIR] [--tuning JSON]
//                             [--log-level LEVEL] [--firmware-version V] [--no-view-events]
//
// It writes one JSON line per event on stdout with a synchronous write, before the core goes
// on (so a view line precedes the cache write for that document: the parent knows every
// revision that was ever on screen). Times `at` are epoch milliseconds with sub-millisecond
// resolution (performance.timeOrigin + performance.now()), comparable across processes.
//   {type:'origin', at}   this process's start
//   {type:'modules', at}  its modules are loaded (the host's too, with --renderer-dir)
//   {type:'view', at, kind, revision?, stale?, code?}   every view change
//   {type:'started', at, state, url, kind, …}   core started (url: the headless host's, or null)
//   {type:'frame', at, kind, revision}   each frame the renderer reports painted (--renderer-dir)
//   {type:'fatal', error}
// With --renderer-dir the HeadlessHost serves the built renderer over its WebSocket bridge.
// Started with an IPC channel (fork), it also answers samples of its own memory and CPU
// (PanelSampleRequest → {id, sample}) and stops on 'stop'. SIGTERM stops it cleanly.
import { readFileSync, writeSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { writeHeapSnapshot } from 'node:v8';
import got from 'got';
import mqtt from 'mqtt';
import type { PanelView } from '@airpanel/contract/internal';
import { createPanelLogger, loadPanelConfig, PanelCore, type CoreTuning, type PanelViewSource } from '@airpanel/panel/core/index';
import type { HostActions } from '@airpanel/panel/core/host';

const now = () => performance.timeOrigin + performance.now();

function emit(line: Record<string, unknown>): void {
  writeSync(1, `${JSON.stringify(line)}\n`);
}

function describeView(view: PanelView): Record<string, unknown> {
  if (view.kind === 'content') return { kind: 'content', revision: view.document.revision, stale: view.stale !== null };
  if (view.kind === 'maintenance') return { kind: 'maintenance', code: view.code };
  return { kind: view.kind };
}

export interface PanelSample {
  monoMs: number;
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
  /** process.cpuUsage(), µs. */
  cpuUserUs: number;
  cpuSystemUs: number;
  /** utime + stime of /proc/self/stat, in clock ticks (USER_HZ, 100 on Linux). */
  statTicks: number | null;
  revision: number | null;
  state: string;
  /** Documents shown since start (changes of the displayed revision). */
  accepted: number;
}

/** gc: a full GC first; snapshot: also write a heap snapshot to that path. */
export type PanelSampleRequest = { id: number; gc: boolean; snapshot?: string } | 'stop';

function statTicks(): number | null {
  try {
    const s = readFileSync('/proc/self/stat', 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return Number(f[11]) + Number(f[12]); // fields 14 and 15: utime, stime
  } catch {
    return null;
  }
}

const noHost: HostActions = {
  reloadRenderer: async () => undefined,
  restartApp: async () => undefined,
  captureScreenshot: async () => null,
};

async function main(): Promise<void> {
  emit({ type: 'origin', at: performance.timeOrigin });
  const { values } = parseArgs({
    options: {
      'data-dir': { type: 'string' },
      'renderer-dir': { type: 'string' },
      tuning: { type: 'string' },
      'log-level': { type: 'string' },
      'firmware-version': { type: 'string' },
      'no-view-events': { type: 'boolean' },
    },
  });
  const dataDir = values['data-dir'];
  if (!dataDir) throw new Error('--data-dir is required');
  const rendererDir = values['renderer-dir'];
  // Only a panel with a screen loads the host's modules (a sampled panel weighs the core alone).
  const host = rendererDir ? new (await import('@airpanel/panel/headless/headless-host')).HeadlessHost({ rendererDir }) : null;
  emit({ type: 'modules', at: now() });
  const tuning = JSON.parse(values.tuning ?? '{}') as Partial<CoreTuning>;
  const logger = createPanelLogger({
    dataDir,
    stdout: false,
    ...(values['log-level'] ? { level: values['log-level'] as 'error' | 'warn' | 'info' | 'debug' } : {}),
  });
  const core = new PanelCore({
    dataDir,
    config: await loadPanelConfig(dataDir),
    mqttConnect: (url, options) => mqtt.connect(url, options),
    http: got,
    hostActions: host?.actions ?? noHost,
    logger,
    firmwareVersion: values['firmware-version'] ?? '1.0.0-harness',
    tuning,
  });
  // The core's timers are unref'd (an idle core never keeps a process alive by itself): between
  // an MQTT connection lost and the next attempt nothing else would. A host keeps itself alive.
  const keepAlive = setInterval(() => undefined, 60_000);
  let accepted = 0;
  let lastRevision: number | null = null;
  core.onView((view) => {
    if (!values['no-view-events']) emit({ type: 'view', at: now(), ...describeView(view) });
    const r = core.currentStatus().displayedRevision;
    if (r !== lastRevision) {
      accepted++;
      lastRevision = r;
    }
  });
  let url: string | null = null;
  if (host) {
    // The core behind the bridge, with framePresented timestamped on arrival.
    const source: PanelViewSource = {
      getView: () => core.getView(),
      onView: (listener) => core.onView(listener),
      framePresented: (frame) => {
        emit({ type: 'frame', at: now(), kind: frame.kind, revision: frame.revision });
        core.framePresented(frame);
      },
      rendererError: (report) => core.rendererError(report),
      hostFault: (code, detail) => core.hostFault(code, detail),
    };
    url = await host.listen(source);
  }
  await core.start();
  emit({ type: 'started', at: now(), state: core.state.name, url, ...describeView(core.getView()) });
  const stop = async () => {
    await core.stop();
    await host?.close();
    clearInterval(keepAlive);
    logger.close();
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop());
  if (process.send) {
    process.on('message', (m: PanelSampleRequest) => {
      if (m === 'stop') return void stop();
      if (m.gc) {
        const gc = (globalThis as { gc?: () => void }).gc;
        if (!gc) throw new Error('sample with gc: run the panel with --expose-gc');
        gc();
        gc();
      }
      const mem = process.memoryUsage();
      const cpu = process.cpuUsage();
      const sample: PanelSample = {
        monoMs: performance.now(),
        rss: mem.rss,
        heapUsed: mem.heapUsed,
        heapTotal: mem.heapTotal,
        external: mem.external,
        arrayBuffers: mem.arrayBuffers,
        cpuUserUs: cpu.user,
        cpuSystemUs: cpu.system,
        statTicks: statTicks(),
        revision: core.currentStatus().displayedRevision,
        state: core.state.name,
        accepted,
      };
      // After the sample: writing a snapshot allocates a lot, and the allocator keeps much of
      // it (RSS after a snapshot is no longer the panel's own).
      if (m.snapshot) writeHeapSnapshot(m.snapshot);
      process.send!({ id: m.id, sample });
    });
    process.send('ready');
  }
}

main().catch((err: unknown) => {
  emit({ type: 'fatal', error: String(err) });
  process.exit(1);
});
