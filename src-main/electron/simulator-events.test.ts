import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { SimulatorState } from '@airpanel/contract/internal';
import { SimulatorEvents } from './simulator-events.js';

const quietLog = { error: () => undefined, warn: () => undefined, info: () => undefined, debug: () => undefined };

function state(size: SimulatorState['size']): SimulatorState {
  return {
    panelId: 'panel-1',
    panelUrl: null,
    size,
    network: 'up',
    backend: 'unavailable',
    lastReading: null,
    lastCommand: null,
    lastError: null,
    presets: [],
    sizes: [],
    commands: ['reload'],
  };
}

describe('SimulatorEvents', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it('delivers valid states, drops invalid ones and reconnects after a drop', async () => {
    const streams: ServerResponse[] = [];
    let connections = 0;
    const server = createServer((req, res) => {
      connections++;
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      streams.push(res);
      // Split across writes on purpose: the parser must join chunks.
      res.write(`data: ${JSON.stringify(state(connections === 1 ? 'portrait' : 'banner')).slice(0, 20)}`);
      res.write(`${JSON.stringify(state(connections === 1 ? 'portrait' : 'banner')).slice(20)}\n\n`);
      res.write('data: {"size":"huge"}\n\n');
      res.write('data: not json\n\n');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    cleanups.push(
      () =>
        new Promise<void>((r) => {
          server.closeAllConnections();
          server.close(() => r());
        }),
    );

    const got: string[] = [];
    let wake: () => void = () => undefined;
    const events = new SimulatorEvents(
      `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      (s) => {
        got.push(s.size);
        wake();
      },
      quietLog,
      20,
    );
    cleanups.push(() => events.stop());
    events.start();
    const waitFor = async (n: number) => {
      while (got.length < n) await new Promise<void>((r) => (wake = r));
    };
    await waitFor(1);
    expect(got).toEqual(['portrait']);
    streams[0]?.destroy();
    await waitFor(2);
    expect(got).toEqual(['portrait', 'banner']);
    expect(connections).toBe(2);
  });
});
