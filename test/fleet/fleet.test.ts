// Fleet smoke test: the fleet runner provisions 20 panels through the real backend's API,
// runs them as real PanelCores in a forked fleet process, they connect to the embedded
// broker, go live, and all see a broadcast (an edit of their shared content set).
import { afterEach, describe, expect, it } from 'vitest';
import { Fleet, percentile, pool, summarize } from './fleet.js';

let fleet: Fleet | null = null;
afterEach(async () => {
  await fleet?.stop();
  fleet = null;
});

describe('simulated fleet', () => {
  it('provisions, connects, goes live and sees a broadcast', async () => {
    fleet = await Fleet.create({ panels: 20, broker: 'aedes', idPrefix: 'smoke' });
    await fleet.provision();
    expect(fleet.provisioning.created).toBe(20);
    await fleet.startPanels();
    const live = await fleet.waitForLive(30_000);
    expect(live.states['live']).toBe(20);
    expect(live.mqttConnected).toBe(20);
    expect(live.errors).toBe(0);

    const { t0 } = await fleet.broadcastChange();
    const times = await fleet.awaitChange(20_000);
    const s = summarize(times, t0);
    expect(s.count).toBe(20);
    expect(s.missing).toBe(0);
    const after = await fleet.counts();
    expect(after.states['live']).toBe(20);
    const memory = await fleet.memory();
    expect(memory?.connectedPanels).toBe(20);
  }, 90_000);

  it('helpers: nearest-rank percentiles and a bounded pool', async () => {
    const sorted = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(sorted, 50)).toBe(50);
    expect(percentile(sorted, 99)).toBe(99);
    expect(percentile(sorted, 100)).toBe(100);
    let inFlight = 0;
    let peak = 0;
    await pool(sorted, 4, async () => {
      peak = Math.max(peak, ++inFlight);
      await new Promise((r) => setTimeout(r, 1));
      inFlight--;
    });
    expect(peak).toBe(4);
    expect(summarize([10, null, 30], 0)).toMatchObject({ count: 2, missing: 1, max: 30 });
  });
});
