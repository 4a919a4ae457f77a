import { describe, expect, it } from 'vitest';
import { CommandRecord, PanelSummary } from '@airpanel/contract';
import { healthCriterionMet, LoaderHealthGate } from '@airpanel/panel/core/update/index';
import { LoaderStore } from '@airpanel/panel/loader/store';
import { useCleanups } from './harness/index.js';
import { startSupervisedCorePanel } from './harness/ota/core-panel.js';

const cleanups = useCleanups();

describe('the health criterion (LoaderHealthGate): content painted AND backend reached', () => {
  it('reports once, only when both are there, in either order; the splash and maintenance codes are not content', () => {
    expect(healthCriterionMet({ paintedContent: true, backendReached: null })).toBe(false);
    expect(healthCriterionMet({ paintedContent: false, backendReached: 'mqtt' })).toBe(false);
    expect(healthCriterionMet({ paintedContent: true, backendReached: 'poll' })).toBe(true);
    for (const order of ['paint-first', 'backend-first'] as const) {
      const sent: unknown[] = [];
      const gate = new LoaderHealthGate({ send: (m) => sent.push(m) > 0 });
      if (order === 'backend-first') gate.backendReached('poll');
      gate.framePresented({ kind: 'booting', revision: null });
      gate.framePresented({ kind: 'maintenance', revision: null });
      expect(sent).toEqual([]);
      gate.framePresented({ kind: 'content', revision: 4 });
      if (order === 'paint-first') {
        expect(sent).toEqual([]);
        gate.backendReached('mqtt');
      }
      gate.backendReached('poll');
      gate.framePresented({ kind: 'content', revision: 5 });
      expect(sent).toEqual([{ type: 'airpanel/healthy' }]);
      expect(gate.reported).toBe(true);
    }
  });
});

/**
 * End to end with the real backend (SQLite, embedded MQTT, release feed), the real loader and
 * the real PanelCore in test-app bundles: a release that breaks networking still paints the
 * cached content, and is rolled back instead of committed.
 */
describe('a release that breaks networking is rolled back, not committed', () => {
  it('v1 live → v2 (no network) painted from the cache but never reaches the backend → rolled back → v3 healthy is committed', async () => {
    const {
      api,
      panel: p,
      publish,
    } = await startSupervisedCorePanel({ cleanups, panelId: 'panel-health', name: 'Health panel', healthDeadlineMs: 8_000 });
    const summary = async () => PanelSummary.parse(await api.panel('panel-health'));
    const until = async (what: string, pred: () => Promise<boolean>, ms = 40_000) => {
      const end = Date.now() + ms;
      while (!(await pred())) {
        if (Date.now() > end)
          throw new Error(
            `timed out: ${what}; panel ${JSON.stringify(await summary())}; outcomes ${JSON.stringify(p.outcomes.map((o) => o.result))}`,
          );
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    const checkUpdate = async () => {
      const sent = CommandRecord.parse(
        await api.client.call('sendCommand', { params: { panelId: 'panel-health' }, body: { kind: 'check-update' } }),
      );
      await until('command acked', async () =>
        CommandRecord.parse(await api.client.call('getCommand', { params: { panelId: 'panel-health', commandId: sent.id } })).acks.some(
          (a) => a.status === 'done' || a.status === 'failed',
        ),
      );
    };
    const state = () => new LoaderStore(p.loader.layout).readState();

    await until('v1 live (its content cached)', async () => {
      const s = await summary();
      return s.online === true && s.state === 'live';
    });

    await publish('2.0.0', 'breaks-network');
    await checkUpdate();
    await until('2.0.0 rolled back at the health deadline', async () => state().refused.includes('2.0.0'));
    expect(
      p.outcomes.find((o) => o.launch.kind === 'trial'),
      JSON.stringify(p.outcomes.map((o) => [o.launch, o.result, o.exit])),
    ).toMatchObject({ result: 'rolled-back-hang' });
    expect(state()).toMatchObject({ trial: null });
    expect(state().current).not.toBe('2.0.0');
    await until('v1 back online', async () => {
      const s = await summary();
      return s.online === true && s.firmwareVersion === '1.0.0';
    });

    await publish('3.0.0', 'healthy');
    await checkUpdate();
    await until('3.0.0 committed', async () => state().current === '3.0.0');
  }, 120_000);
});
