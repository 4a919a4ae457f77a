import { request } from 'node:http';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SimulatorActionResult, SimulatorState, type PanelSizeId } from '@airpanel/contract/internal';
import type { CommandKind, PollutantValues } from '@airpanel/contract';
import { SimulatorControls, startSimulatorServer, type SimulatorAdmin } from './simulator-controls.js';

/** Test implementation of the backend admin API: records calls, fails on demand. */
class RecordingAdmin implements SimulatorAdmin {
  readings: PollutantValues[] = [];
  commands: CommandKind[] = [];
  failWith: string | null = null;
  acks: { status: 'accepted' | 'done' | 'failed' | 'rejected'; detail: string | null }[] = [];
  async commandAcks(_id: string) {
    return this.acks;
  }
  async setReading(values: PollutantValues) {
    if (this.failWith) throw new Error(this.failWith);
    this.readings.push(values);
  }
  async sendCommand(kind: CommandKind) {
    if (this.failWith) throw new Error(this.failWith);
    this.commands.push(kind);
    return `cmd-${this.commands.length}`;
  }
}

function post(base: string, body: string, headers: Record<string, string> = { 'content-type': 'application/json' }) {
  return fetch(`${base}/simulator/api/action`, { method: 'POST', headers, body });
}

describe('SimulatorControls', () => {
  let admin: RecordingAdmin;
  let controls: SimulatorControls;
  let server: { url: string; close(): Promise<void> };
  let sizes: PanelSizeId[];
  let networkUp: boolean;

  beforeEach(async () => {
    admin = new RecordingAdmin();
    sizes = [];
    networkUp = true;
    controls = new SimulatorControls({
      panelId: 'panel-1',
      admin,
      panelUrl: '/',
      network: {
        get up() {
          return networkUp;
        },
        set: async (up) => {
          networkUp = up;
        },
      },
      onSizeChange: (s) => sizes.push(s),
      ackFollow: { everyMs: 10, forMs: 5_000 },
    });
    server = await startSimulatorServer(controls);
  });

  afterEach(async () => {
    await server.close();
  });

  it('serves the shared control page with a strict CSP', async () => {
    const page = await fetch(`${server.url}/simulator`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    const html = await page.text();
    expect(html).toContain('/simulator/simulator.js');
    expect(html).not.toMatch(/<script>(?!<)/); // no inline script (the CSP would block it)
    expect((await fetch(`${server.url}/simulator/simulator.js`)).headers.get('content-type')).toContain('javascript');
    expect((await fetch(`${server.url}/simulator/../package.json`)).status).toBe(404);
  });

  it('reports its state, with what the page offers', async () => {
    const state = SimulatorState.parse(await (await fetch(`${server.url}/simulator/api/state`)).json());
    expect(state).toMatchObject({ panelId: 'panel-1', size: 'landscape', network: 'up', backend: 'unavailable', lastReading: null });
    expect(state.sizes.map((s) => `${s.width}x${s.height}`)).toEqual(['1920x1080', '1080x1920', '768x384']);
    expect(state.presets.map((p) => p.label)).toEqual(['Good', 'Moderate', 'Bad']);
    expect(state.commands).toContain('reload');
  });

  it('carries out valid actions and rejects invalid ones', async () => {
    const r1 = SimulatorActionResult.parse(
      await (await post(server.url, JSON.stringify({ action: 'set-reading', values: { pm25: 42 } }))).json(),
    );
    expect(r1.ok).toBe(true);
    expect(admin.readings).toEqual([{ pm25: 42 }]);
    expect(r1.state.lastReading?.values).toEqual({ pm25: 42 });

    const r2 = SimulatorActionResult.parse(
      await (await post(server.url, JSON.stringify({ action: 'send-command', kind: 'reload' }))).json(),
    );
    expect(r2.state.lastCommand).toMatchObject({ kind: 'reload', id: 'cmd-1' });

    expect(r2.state.lastCommand?.ack).toBeNull();
    // The panel answers: the state follows its acks until a final one.
    admin.acks = [{ status: 'accepted', detail: null }];
    await expect.poll(() => controls.state.lastCommand?.ack).toEqual({ status: 'accepted', detail: null });
    admin.acks.push({ status: 'done', detail: 'reloaded' });
    await expect.poll(() => controls.state.lastCommand?.ack).toEqual({ status: 'done', detail: 'reloaded' });

    await post(server.url, JSON.stringify({ action: 'set-network', up: false }));
    expect(networkUp).toBe(false);
    await post(server.url, JSON.stringify({ action: 'set-size', size: 'banner' }));
    expect(sizes).toEqual(['banner']);
    expect(controls.state.size).toBe('banner');

    for (const bad of [
      '{',
      JSON.stringify({ action: 'set-reading', values: { pm25: -1 } }),
      JSON.stringify({ action: 'set-size', size: '4k' }),
      JSON.stringify({ action: 'send-command', kind: 'format-disk' }),
      JSON.stringify({ action: 'rm' }),
    ]) {
      expect((await post(server.url, bad)).status, bad).toBe(400);
    }
    expect(admin.readings).toHaveLength(1);
  });

  it('refuses cross-site and non-JSON posts', async () => {
    const body = JSON.stringify({ action: 'set-network', up: false });
    expect((await post(server.url, body, { 'content-type': 'text/plain' })).status).toBe(415);
    expect((await post(server.url, body, { 'content-type': 'application/json', origin: 'http://evil.example' })).status).toBe(403);
    expect((await post(server.url, body, { 'content-type': 'application/json', origin: server.url })).status).toBe(200);
    expect((await fetch(`${server.url}/simulator/api/action`)).status).toBe(405);
  });

  it('reports a failed action and an unavailable switch', async () => {
    admin.failWith = 'backend unreachable';
    const res = await post(server.url, JSON.stringify({ action: 'set-reading', values: { pm10: 1 } }));
    expect(res.status).toBe(502);
    const r = SimulatorActionResult.parse(await res.json());
    expect(r).toMatchObject({ ok: false, error: 'backend unreachable' });
    expect(r.state.lastError).toBe('backend unreachable');
    const b = SimulatorActionResult.parse(await (await post(server.url, JSON.stringify({ action: 'set-backend', up: false }))).json());
    expect(b).toMatchObject({ ok: false });
  });

  it('streams every state change as a server-sent event', async () => {
    const u = new URL(`${server.url}/simulator/api/events`);
    const events: SimulatorState[] = [];
    let wake = () => undefined as void;
    const req = request({ host: u.hostname, port: u.port, path: u.pathname }, (res) => {
      expect(res.headers['content-type']).toBe('text/event-stream');
      let buf = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        buf += c;
        let i;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          events.push(SimulatorState.parse(JSON.parse(buf.slice(0, i).replace(/^data: /, ''))));
          buf = buf.slice(i + 2);
          wake();
        }
      });
    });
    req.on('error', () => undefined);
    req.end();
    const waitFor = async (n: number) => {
      while (events.length < n) await new Promise<void>((r) => (wake = r));
    };
    await waitFor(1);
    expect(events[0]?.size).toBe('landscape');
    await post(server.url, JSON.stringify({ action: 'set-size', size: 'portrait' }));
    await waitFor(2);
    expect(events[1]?.size).toBe('portrait');
    req.destroy();
  });
});
