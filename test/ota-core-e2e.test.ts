import { describe, expect, it } from 'vitest';
import { CommandRecord, PanelSummary } from '@airpanel/contract';
import { LoaderStore } from '@airpanel/panel/loader/store';
import * as ops from '@airpanel/release-tools/ops';
import { useCleanups } from './harness/index.js';
import { startSupervisedCorePanel } from './harness/ota/core-panel.js';

const cleanups = useCleanups();

/**
 * End to end with the real backend (SQLite, embedded MQTT, release feed) and the real panel
 * core in test-app bundles under the real loader; only Electron and the renderer are left out.
 * The `check-update` command goes backend → MQTT → PanelCore → OtaUpdater; the running
 * version comes back through the panel's MQTT status.
 */
describe('OTA end to end with the real PanelCore and backend', () => {
  it('v1 → v2 by command → v3 crashing → back on v2, seen by the backend', async () => {
    const {
      backend,
      api,
      panel: p,
      publish,
    } = await startSupervisedCorePanel({ cleanups, panelId: 'panel-ota', name: 'OTA panel', healthDeadlineMs: 20_000 });
    const summary = async () => PanelSummary.parse(await api.panel('panel-ota'));
    const until = async (what: string, pred: () => Promise<boolean>, ms = 30_000) => {
      const end = Date.now() + ms;
      while (!(await pred())) {
        if (Date.now() > end) throw new Error(`timed out: ${what}; panel ${JSON.stringify(await summary())}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    const command = async () => {
      const sent = CommandRecord.parse(
        await api.client.call('sendCommand', { params: { panelId: 'panel-ota' }, body: { kind: 'check-update' } }),
      );
      let rec: CommandRecord | null = null;
      await until('command acked done', async () => {
        rec = CommandRecord.parse(await api.client.call('getCommand', { params: { panelId: 'panel-ota', commandId: sent.id } }));
        return rec.acks.some((a) => a.status === 'done' || a.status === 'failed');
      });
      return rec!;
    };
    const state = () => new LoaderStore(p.loader.layout).readState();

    await until('v1 live', async () => (await summary()).online === true);
    await publish('2.0.0', 'healthy');
    const ack = await command();
    expect(ack.acks.find((a) => a.status === 'done')?.detail).toMatch(/2\.0\.0 installed/);
    await until('commit of 2.0.0', async () => state().current === '2.0.0');
    await until('backend sees 2.0.0 running (panel status over MQTT)', async () => {
      const s = await summary();
      return s.online === true && s.firmwareVersion === '2.0.0';
    });

    await publish('3.0.0', 'crash');
    await command();
    await until('rollback of 3.0.0', async () => state().refused.includes('3.0.0'));
    await until('v2 running again after the crash', async () => p.outcomes.some((o) => o.result === 'rolled-back-crash'));
    await until('rollback reported', async () => {
      const r = (await ops.listPanels({ server: backend.url, token: backend.adminToken })) as {
        panels: Array<{ panelId: string; runningVersion: string; lastUpdate: { phase: string; targetVersion: string } | null }>;
      };
      return r.panels.some(
        (x) =>
          x.panelId === 'panel-ota' &&
          x.runningVersion === '2.0.0' &&
          x.lastUpdate?.phase === 'rolled-back' &&
          x.lastUpdate.targetVersion === '3.0.0',
      );
    });
    expect(state()).toMatchObject({ current: '2.0.0', trial: null });
  }, 120_000);
});
