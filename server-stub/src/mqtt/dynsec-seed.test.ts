import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { panelTopics } from '@airpanel/contract';
import { startMosquitto, type RunningMosquitto } from './test-support/mosquitto-process.js';
import { connectPanel, endAll, grantedQos } from './test-support/mqtt-test-kit.js';

// Accounts written into a stopped Mosquitto's dynsec file must behave exactly like those the
// backend creates at run time (dynsec.ts upsertPanel): own key, own topics, nothing else.
describe('panel accounts seeded into the dynsec file', () => {
  let broker: RunningMosquitto;
  const KEY_A = 'seeded-key-of-panel-a-0123456789abcdefghijk';
  const KEY_B = 'seeded-key-of-panel-b-0123456789abcdefghijk';

  beforeAll(async () => {
    broker = await startMosquitto();
    await broker.seedPanelAccounts([
      { panelId: 'panel-a', apiKey: KEY_A },
      { panelId: 'panel-b', apiKey: KEY_B },
    ]);
  }, 20_000);
  afterAll(() => broker.stop());

  it('lets a seeded panel in with its key, to its own topics only', async () => {
    const { client } = await connectPanel(broker.url, 'panel-a', KEY_A);
    try {
      expect(await grantedQos(client, [panelTopics('panel-a').display, panelTopics('panel-a').commands])).toEqual([1, 1]);
      expect(await grantedQos(client, [panelTopics('panel-b').display, '#'])).toEqual([128, 128]);
    } finally {
      await endAll([client]);
    }
  });

  it("refuses another panel's key", async () => {
    await expect(connectPanel(broker.url, 'panel-a', KEY_B)).rejects.toThrow();
  });
});
