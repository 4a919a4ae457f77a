// The long network run (npm run test:faults): a minute of random link faults between a panel
// and the real backend (pass / delay / blackhole / reset, on MQTT and HTTP independently). At
// every step: no crash, no maintenance, content never lost once shown, revisions only go up;
// after the last fault the panel is live again within 10 s.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { reportFigures, sleep, startPanelBehindLinks, useCleanups, type ProxyMode } from '../harness/index.js';

const cleanups = useCleanups();

const STEPS = 60;

describe('random link faults for a minute', () => {
  it('never crashes, never loses content, revisions only go up, live again after', async () => {
    const { httpProxy, mqttProxy, panel } = await startPanelBehindLinks({
      cleanups,
      panelId: 'panel-chaos',
      feed: { everyMs: 300, maxReadings: 1_000 },
    });
    await panel.waitUntil('live', () => panel.core.state.name === 'live', 10_000);

    const mode = fc.oneof(
      { weight: 3, arbitrary: fc.constant<ProxyMode>({ kind: 'pass' }) },
      { weight: 1, arbitrary: fc.integer({ min: 20, max: 600 }).map<ProxyMode>((ms) => ({ kind: 'delay', ms })) },
      { weight: 1, arbitrary: fc.constant<ProxyMode>({ kind: 'blackhole' }) },
      { weight: 1, arbitrary: fc.constant<ProxyMode>({ kind: 'reset' }) },
    );
    const plan = fc.sample(fc.tuple(mode, mode, fc.integer({ min: 200, max: 1_500 })), STEPS);
    let lastShown = panel.shownRevision() ?? 0;
    const counts: Record<string, number> = {};
    for (const [httpMode, mqttMode, holdMs] of plan) {
      httpProxy.setMode(httpMode);
      mqttProxy.setMode(mqttMode);
      counts[`${httpMode.kind}/${mqttMode.kind}`] = (counts[`${httpMode.kind}/${mqttMode.kind}`] ?? 0) + 1;
      const until = performance.now() + holdMs;
      while (performance.now() < until) {
        const view = panel.view();
        expect(view.kind).toBe('content');
        const shown = panel.shownRevision()!;
        expect(shown).toBeGreaterThanOrEqual(lastShown);
        lastShown = shown;
        await sleep(50);
      }
    }
    // A last full outage, so the recovery measured below starts from stale.
    httpProxy.setMode({ kind: 'reset' });
    mqttProxy.setMode({ kind: 'reset' });
    await panel.waitUntil('stale in the last outage', () => panel.core.state.name === 'stale', 10_000);
    const restoredAt = performance.now();
    httpProxy.setMode({ kind: 'pass' });
    mqttProxy.setMode({ kind: 'pass' });
    const liveAt = await panel.waitUntil('live after the last fault', () => panel.core.state.name === 'live', 10_000);
    await panel.waitUntil('mqtt up after the last fault', () => panel.entries.filter((e) => e.message === 'mqtt up').length > 0, 10_000);
    const all = panel.accepted().map((a) => a.revision);
    for (let i = 1; i < all.length; i++) expect(all[i]).toBeGreaterThan(all[i - 1]!);
    expect(panel.states.map((s) => s.name)).not.toContain('maintenance');
    reportFigures('faults', `random link faults (${STEPS} steps)`, {
      liveAfterLastFault: liveAt - restoredAt,
      transitions: String(panel.states.length),
      accepted: String(all.length),
      mqttConnects: String(panel.entries.filter((e) => e.message === 'mqtt up').length),
      modes: JSON.stringify(counts),
    });
  }, 180_000);
});
