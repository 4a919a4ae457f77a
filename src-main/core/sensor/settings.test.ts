import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseSensorArgument } from '@airpanel/contract';
import { loadPanelConfig } from '../config.js';
import { makeConfig, makeDataDir, writePanelJson } from '../testing/fixtures.js';

describe('panel.json sensor settings', () => {
  let dataDir: { dir: string; cleanup: () => Promise<void> };
  beforeEach(async () => {
    dataDir = await makeDataDir();
  });
  afterEach(() => dataDir.cleanup());

  it('absent → no sensor; a valid one is kept', async () => {
    const config = makeConfig('panel-001', 'http://127.0.0.1:1', null);
    await writePanelJson(dataDir.dir, config);
    const none = await loadPanelConfig(dataDir.dir);
    expect(none.ok && none.config.sensor).toBe(null);
    await writePanelJson(dataDir.dir, { ...config, sensor: { kind: 'pms7003', device: '/dev/ttyAMA0' } });
    const serial = await loadPanelConfig(dataDir.dir);
    expect(serial.ok && serial.config.sensor).toEqual({ kind: 'pms7003', device: '/dev/ttyAMA0' });
    expect(serial.ok && serial.sensorFault).toBeUndefined();
    await writePanelJson(dataDir.dir, { ...config, sensor: { kind: 'airrohr', url: 'http://192.168.4.20/data.json' } });
    const node = await loadPanelConfig(dataDir.dir);
    expect(node.ok && node.config.sensor).toEqual({ kind: 'airrohr', url: 'http://192.168.4.20/data.json', pollSeconds: 60 });
  });

  it('invalid sensor settings → CFG-5, the rest of the panel still configured (no maintenance)', async () => {
    const config = makeConfig('panel-001', 'http://127.0.0.1:1', null);
    for (const sensor of [
      { kind: 'sds011', device: '/etc/passwd' },
      { kind: 'sds011', device: '/dev/../etc/shadow' },
      { kind: 'bme280' },
      { kind: 'airrohr', url: 'file:///x' },
    ]) {
      await writePanelJson(dataDir.dir, { ...config, sensor });
      const result = await loadPanelConfig(dataDir.dir);
      expect(result.ok, JSON.stringify(sensor)).toBe(true);
      if (!result.ok) continue;
      expect(result.config.sensor).toBe(null);
      expect(result.sensorFault?.code).toBe('CFG-5');
      expect(result.sensorFault?.detail).toMatch(/sensor/);
    }
    // Another field wrong as well: the whole file is CFG-3 as before.
    await writePanelJson(dataDir.dir, { ...config, panelId: 'Bad Id', sensor: { kind: 'bme280' } });
    const both = await loadPanelConfig(dataDir.dir);
    expect(!both.ok && both.code).toBe('CFG-3');
  });

  it('parses the technician form KIND:WHERE', () => {
    expect(parseSensorArgument('sds011:/dev/ttyUSB0')).toEqual({ ok: true, settings: { kind: 'sds011', device: '/dev/ttyUSB0' } });
    expect(parseSensorArgument('airrohr:http://10.0.0.5/data.json')).toEqual({
      ok: true,
      settings: { kind: 'airrohr', url: 'http://10.0.0.5/data.json', pollSeconds: 60 },
    });
    expect(parseSensorArgument('sds011').ok).toBe(false);
    expect(parseSensorArgument('dht22:/dev/ttyUSB0').ok).toBe(false);
    expect(parseSensorArgument('pms5003:ttyUSB0').ok).toBe(false);
  });
});
