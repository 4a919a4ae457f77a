// A panel for tests and benchmarks, started one of two ways:
//   in-process: a PanelCore in this process with short timings (FAST_TUNING), its state
//     transitions recorded with their times and its log captured;
//   child: the one runner (panel-child.ts) as a process a test can SIGKILL and start again.
// Either way its panel.json is written from a registration first (when one is given).
import got from 'got';
import type winston from 'winston';
import { connect } from 'mqtt';
import type { PanelConfigInput, PanelEndpoints, Panel, PanelStateName } from '@airpanel/contract';
import type { PanelView } from '@airpanel/contract/internal';
import { loadPanelConfig } from '@airpanel/panel/core/config';
import { PanelCore, type CoreTuning } from '@airpanel/panel/core/panel-core';
import type { WallClock } from '@airpanel/panel/core/clock';
import { capturingLogger, type LogEntry, RecordingHostActions } from '@airpanel/panel/core/testing/fixtures';
import { makeTempDir, type Cleanups } from './cleanups.js';
import { PanelProcess, type PanelProcessOptions } from './panel-process.js';
import { panelConfigFor, writePanelConfig } from './provision.js';

/** Timings that keep each case to seconds: a 1.5 s freshness window, 250 ms polls. */
export const FAST_TUNING: Partial<CoreTuning> = {
  freshnessWindowMs: 1_500,
  pollIntervalMs: 250,
  pollJitter: 0.2,
  firstPollMaxDelayMs: 50,
  heartbeatMs: 1_000,
  reconnectBackoff: { minMs: 50, baseMs: 100, maxMs: 500 },
  stableConnectionMs: 200,
  connectTimeoutMs: 1_000,
  keepaliveSeconds: 1,
  httpTimeoutMs: 800,
};

interface PanelOptionsBase {
  cleanups: Cleanups;
  /** Default: a temp dir removed by `cleanups`. */
  dataDir?: string;
  /** Writes panel.json from it (else the data dir already holds one). */
  registration?: { panel: Panel; apiKey: string; endpoints?: PanelEndpoints | null };
  apiBaseUrl?: string;
  mqttUrl?: string | null;
  /** Extra panel.json fields (e.g. an own sensor). */
  panelJson?: Partial<PanelConfigInput>;
}

export interface InProcessPanelOptions extends PanelOptionsBase {
  mode: 'in-process';
  /** Merged over FAST_TUNING (or, with `fastTuning: false`, over the core's own defaults). */
  tuning?: Partial<CoreTuning>;
  /** Default true. */
  fastTuning?: boolean;
  /** The core's random draw (jitter, first poll); default Math.random. */
  random?: () => number;
  firmwareVersion?: string;
  wallClock?: WallClock;
  /** false: constructed, not started. */
  start?: boolean;
  /** A winston logger of the test's making (e.g. the real file logger), captured into `entries`. */
  logger?: winston.Logger;
}

export interface ChildPanelOptions extends PanelOptionsBase, Omit<PanelProcessOptions, 'dataDir'> {
  mode: 'child';
  /** false: constructed, not started. */
  start?: boolean;
}

export interface RecordedState {
  name: PanelStateName;
  reason: string;
  at: number;
}

/** A PanelCore in this process, with its transitions recorded on the monotonic clock. */
export interface TestPanel {
  core: PanelCore;
  /** What the core asked of its host (reload, restart, screenshot). */
  hostActions: RecordingHostActions;
  entries: LogEntry[];
  states: RecordedState[];
  dataDir: string;
  config: PanelConfigInput | null;
  /** Revisions the panel accepted, with the source (from its log). */
  accepted(): { revision: number; source: string }[];
  /** Resolves with the time (performance.now) when `check` first holds. */
  waitUntil(what: string, check: () => boolean, timeoutMs: number): Promise<number>;
  shownRevision(): number | null;
  view(): PanelView;
}

async function prepare(o: PanelOptionsBase): Promise<{ dataDir: string; config: PanelConfigInput | null }> {
  const dataDir = o.dataDir ?? (await makeTempDir(o.cleanups, 'airpanel-panel-'));
  if (!o.registration) return { dataDir, config: null };
  const config = panelConfigFor(o.registration, {
    ...(o.apiBaseUrl ? { apiBaseUrl: o.apiBaseUrl } : {}),
    ...(o.mqttUrl !== undefined ? { mqttUrl: o.mqttUrl } : {}),
    ...(o.panelJson ? { extra: o.panelJson } : {}),
  });
  await writePanelConfig(dataDir, config);
  return { dataDir, config };
}

export async function startPanel(o: InProcessPanelOptions): Promise<TestPanel>;
export async function startPanel(o: ChildPanelOptions): Promise<PanelProcess>;
export async function startPanel(o: InProcessPanelOptions | ChildPanelOptions): Promise<TestPanel | PanelProcess> {
  const { dataDir, config } = await prepare(o);
  if (o.mode === 'child') {
    const { mode: _m, cleanups, dataDir: _d, registration: _r, apiBaseUrl: _a, mqttUrl: _q, panelJson: _p, start, ...processOptions } = o;
    const panel = new PanelProcess({ ...processOptions, dataDir });
    cleanups.add(async () => void (await panel.kill('SIGTERM')));
    if (start !== false) await panel.start();
    return panel;
  }
  return startInProcess(o, dataDir, config);
}

async function startInProcess(o: InProcessPanelOptions, dataDir: string, config: PanelConfigInput | null): Promise<TestPanel> {
  const captured = capturingLogger();
  const entries = captured.entries;
  let logger = captured.logger;
  if (o.logger) {
    // The capturing transport joins the given logger: one logger, both destinations.
    for (const t of captured.logger.transports) o.logger.add(t);
    logger = o.logger;
  }
  const states: RecordedState[] = [];
  const hostActions = new RecordingHostActions();
  const core = new PanelCore({
    dataDir,
    config: await loadPanelConfig(dataDir),
    mqttConnect: connect,
    http: got,
    hostActions,
    logger,
    firmwareVersion: o.firmwareVersion ?? '1.0.0-harness',
    tuning: { ...(o.fastTuning === false ? {} : FAST_TUNING), ...o.tuning },
    ...(o.wallClock ? { wallClock: o.wallClock } : {}),
    ...(o.random ? { random: o.random } : {}),
  });
  // State changes are seen through the log line the core writes on each transition; the
  // view listener catches them at once (the view changes on every transition but live→live).
  let last: PanelStateName | null = null;
  const record = () => {
    const s = core.state;
    if (s.name !== last) {
      last = s.name;
      states.push({ name: s.name, reason: s.reason, at: performance.now() });
    }
  };
  core.onView(() => record());
  const poll = setInterval(record, 5);
  o.cleanups.add(async () => {
    clearInterval(poll);
    await core.stop();
  });
  if (o.start !== false) {
    await core.start();
    record();
  }
  return {
    core,
    hostActions,
    entries,
    states,
    dataDir,
    config,
    accepted: () =>
      entries
        .filter((e) => e.message === 'document accepted')
        .map((e) => ({ revision: Number(e['revision']), source: String(e['source']) })),
    async waitUntil(what, check, timeoutMs) {
      const deadline = performance.now() + timeoutMs;
      for (;;) {
        record();
        if (check()) return performance.now();
        if (performance.now() > deadline) {
          throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; states: ${states.map((s) => s.name).join(' → ')}`);
        }
        await new Promise((r) => setTimeout(r, 10));
      }
    },
    shownRevision() {
      const v = core.getView();
      return v.kind === 'content' ? v.document.revision : null;
    },
    view: () => core.getView(),
  };
}

/** States entered at or after `since` (performance.now). */
export function statesSince(panel: TestPanel, since: number): PanelStateName[] {
  return panel.states.filter((s) => s.at >= since).map((s) => s.name);
}
