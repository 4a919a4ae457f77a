// Network faults between a panel and the real backend: the panel dials both MQTT and HTTP
// through a loopback LinkProxy (pass / delay / blackhole / reset).
import { beforeEach, describe, expect, it } from 'vitest';
import {
  FAST_TUNING,
  reportFigures,
  sleep,
  startPanelBehindLinks,
  statesSince,
  useCleanups,
  type LinkProxy,
  type TestPanel,
} from '../harness/index.js';

const cleanups = useCleanups();

const WINDOW = FAST_TUNING.freshnessWindowMs!;

describe('network faults through a TCP proxy (MQTT and HTTP)', { timeout: 60_000 }, () => {
  let panel: TestPanel;
  let httpProxy: LinkProxy;
  let mqttProxy: LinkProxy;
  const setBoth = (mode: Parameters<LinkProxy['setMode']>[0]) => {
    httpProxy.setMode(mode);
    mqttProxy.setMode(mode);
  };

  beforeEach(async () => {
    ({ httpProxy, mqttProxy, panel } = await startPanelBehindLinks({ cleanups, panelId: 'panel-net' }));
    await panel.waitUntil(
      'live over MQTT',
      () => panel.core.state.name === 'live' && panel.entries.some((e) => e.message === 'mqtt up'),
      10_000,
    );
  });

  it('cut (reset): stale after the window with the content kept, live again when restored', async () => {
    const shownBefore = panel.shownRevision()!;
    const cutAt = performance.now();
    setBoth({ kind: 'reset' });
    const staleAt = await panel.waitUntil('stale', () => panel.core.state.name === 'stale', WINDOW + 5_000);
    const statesAtStale = panel.states.length;
    const view = panel.view();
    expect(view.kind).toBe('content');
    if (view.kind !== 'content') return;
    expect(view.stale).not.toBeNull();
    expect(view.document.revision).toBeGreaterThanOrEqual(shownBefore);
    // Still stale a while later: no flapping while the link is down.
    await sleep(WINDOW);
    expect(panel.states.slice(statesAtStale)).toEqual([]);
    expect(panel.core.state.name).toBe('stale');

    const restoredAt = performance.now();
    setBoth({ kind: 'pass' });
    const liveAt = await panel.waitUntil('live again', () => panel.core.state.name === 'live', 10_000);
    await panel.waitUntil('a new document after the restore', () => (panel.shownRevision() ?? 0) > view.document.revision, 10_000);
    expect(panel.states.map((s) => s.name)).not.toContain('maintenance');
    reportFigures('faults', 'network cut (reset)', {
      staleAfterCut: staleAt - cutAt,
      window: WINDOW,
      liveAfterRestore: liveAt - restoredAt,
    });
    expect(liveAt - restoredAt).toBeLessThan(10_000);
  });

  it('delay (300 ms each way): stays live, documents still accepted', async () => {
    const since = performance.now();
    const acceptedBefore = panel.accepted().length;
    setBoth({ kind: 'delay', ms: 300 });
    await sleep(WINDOW * 2.5);
    expect(statesSince(panel, since)).toEqual([]);
    expect(panel.core.state.name).toBe('live');
    expect(panel.accepted().length).toBeGreaterThan(acceptedBefore + 2);
    reportFigures('faults', 'network delay 300ms', {
      observed: performance.now() - since,
      acceptedDuringDelay: String(panel.accepted().length - acceptedBefore),
    });
  });

  it('half-open (blackhole): MQTT keepalive and the HTTP timeout detect it; stale, then live when restored', async () => {
    const cutAt = performance.now();
    const linesBefore = panel.entries.length;
    setBoth({ kind: 'blackhole' });
    const mqttLostAt = await panel.waitUntil(
      'MQTT to notice the dead link',
      () => panel.entries.slice(linesBefore).some((e) => e.message === 'polling resumes (mqtt down)'),
      FAST_TUNING.keepaliveSeconds! * 1000 * 3 + 2_000,
    );
    const pollTimedOutAt = await panel.waitUntil(
      'a poll to time out',
      () => panel.entries.slice(linesBefore).some((e) => e.message === 'poll failed' && /timeout/i.test(String(e['error']))),
      FAST_TUNING.httpTimeoutMs! + FAST_TUNING.pollIntervalMs! * 2 + 3_000,
    );
    const staleAt = await panel.waitUntil('stale', () => panel.core.state.name === 'stale', WINDOW + 5_000);
    const reason = panel.entries.slice(linesBefore).find((e) => e.message === 'mqtt reconnect scheduled');
    expect(panel.view()).toMatchObject({ kind: 'content' });
    expect(reason?.['reason']).toMatch(/keepalive/i);
    // The proxy never closed the old connection: the panel gave up on it by itself and redials.
    await panel.waitUntil('a new MQTT connection attempt', () => mqttProxy.accepted > 1, 5_000);

    const restoredAt = performance.now();
    setBoth({ kind: 'pass' });
    const liveAt = await panel.waitUntil('live again', () => panel.core.state.name === 'live', 10_000);
    await panel.waitUntil('mqtt up again', () => panel.entries.slice(linesBefore).some((e) => e.message === 'mqtt up'), 10_000);
    reportFigures('faults', 'network half-open (blackhole)', {
      mqttDetected: mqttLostAt - cutAt,
      mqttReason: JSON.stringify(String(reason?.['reason'] ?? '?')),
      httpTimeoutSeen: pollTimedOutAt - cutAt,
      staleAfterCut: staleAt - cutAt,
      liveAfterRestore: liveAt - restoredAt,
    });
  });
});
