/**
 * Child entry of test/bench/agent-overhead.ts: one headless panel (the real PanelCore, real
 * MQTT and HTTP, no renderer) that reports its own memory and CPU over IPC when asked.
 *
 *   node --expose-gc <bundle of this file> <dataDir>
 *
 * Messages in: `{ id, gc }` (gc: run a full GC first) → `{ id, sample: AgentSample }`; 'stop'.
 */
import { readFileSync } from 'node:fs';
import { writeHeapSnapshot } from 'node:v8';
import got from 'got';
import mqtt from 'mqtt';
import { PanelCore, loadPanelConfig, createPanelLogger } from '../../../src-main/core/index.js';

export interface AgentSample {
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
export type AgentRequest = { id: number; gc: boolean; snapshot?: string } | 'stop';

function statTicks(): number | null {
  try {
    const s = readFileSync('/proc/self/stat', 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return Number(f[11]) + Number(f[12]); // fields 14 and 15: utime, stime
  } catch {
    return null;
  }
}

async function main(dataDir: string): Promise<void> {
  const logger = createPanelLogger({ dataDir, stdout: false });
  const core = new PanelCore({
    dataDir,
    config: await loadPanelConfig(dataDir),
    logger,
    mqttConnect: (url, options) => mqtt.connect(url, options),
    http: got,
    hostActions: { reloadRenderer: async () => undefined, restartApp: async () => undefined, captureScreenshot: async () => null },
    firmwareVersion: 'bench',
    // Production timings except how fast an outage is noticed and recovered from: the soak
    // would otherwise spend minutes waiting for back-off timers.
    tuning: { reconnectBackoff: { minMs: 100, baseMs: 200, maxMs: 1_000 }, stableConnectionMs: 200, pollIntervalMs: 1_000, firstPollMaxDelayMs: 200, connectTimeoutMs: 2_000, httpTimeoutMs: 2_000 },
  });
  let accepted = 0;
  let lastRevision: number | null = null;
  core.onView(() => {
    const r = core.currentStatus().displayedRevision;
    if (r !== lastRevision) {
      accepted++;
      lastRevision = r;
    }
  });
  await core.start();
  process.on('message', (m: AgentRequest) => {
    if (m === 'stop') {
      void core.stop().then(() => {
        logger.close();
        process.exit(0);
      });
      return;
    }
    if (m.gc) {
      const gc = (globalThis as { gc?: () => void }).gc;
      if (!gc) throw new Error('run the panel agent with --expose-gc');
      gc();
      gc();
    }
    const mem = process.memoryUsage();
    const cpu = process.cpuUsage();
    const sample: AgentSample = {
      monoMs: performance.now(), rss: mem.rss, heapUsed: mem.heapUsed, heapTotal: mem.heapTotal, external: mem.external, arrayBuffers: mem.arrayBuffers,
      cpuUserUs: cpu.user, cpuSystemUs: cpu.system, statTicks: statTicks(),
      revision: core.currentStatus().displayedRevision, state: core.state.name, accepted,
    };
    // After the sample: writing a snapshot allocates a lot, and the allocator keeps much of
    // it (RSS after a snapshot is no longer the panel's own).
    if (m.snapshot) writeHeapSnapshot(m.snapshot);
    process.send!({ id: m.id, sample });
  });
  process.send!('ready');
}

const dataDir = process.argv[2];
if (!dataDir) throw new Error('usage: panel-agent <dataDir>');
await main(dataDir);
