// The backend a booted panel talks to: the real backend CLI as a child process on the host's
// 127.0.0.1 (test/harness/backend.ts ChildBackend: stoppable and startable again on the
// same ports and data dir), told to hand panels the guest-side addresses that QEMU's guest
// forwards map to it. The panel in QEMU sees only those two addresses.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CommandRecord, DisplayDocument, type CommandKind, type PanelSummary } from '@airpanel/contract';
import { ADMIN_TOKEN, AdminApi, ChildBackend, freePort } from '../../harness/index.js';
import type { GuestForward } from './qemu-machine.js';

/** Where the guest finds the backend (QEMU user network 10.0.2.0/24; .2 is QEMU's gateway). */
export const GUEST_BACKEND_ADDRESS = '10.0.2.100';
export const GUEST_HTTP_PORT = 8080;
export const GUEST_MQTT_PORT = 1883;

export class BootBackend {
  readonly process: ChildBackend;
  readonly api: AdminApi;
  readonly adminToken = ADMIN_TOKEN;

  private constructor(
    readonly dataDir: string,
    readonly httpPort: number,
    readonly mqttPort: number,
    refreshIntervalSeconds: number,
  ) {
    this.process = new ChildBackend({
      dataDir,
      port: httpPort,
      mqttPort,
      env: {
        AIRPANEL_PUBLIC_URL: `http://${GUEST_BACKEND_ADDRESS}:${GUEST_HTTP_PORT}`,
        AIRPANEL_MQTT_PUBLIC_URL: `mqtt://${GUEST_BACKEND_ADDRESS}:${GUEST_MQTT_PORT}`,
        AIRPANEL_REFRESH_INTERVAL: String(refreshIntervalSeconds),
        // Plain HTTP/MQTT to a non-loopback address: QEMU's user network reaches only this
        // backend (restrict=on, guestfwd), a closed network.
        AIRPANEL_ALLOW_INSECURE_TRANSPORT: '1',
      },
    });
    this.api = new AdminApi(this.process.url);
  }

  /**
   * `refreshIntervalSeconds`: how often the backend re-issues each panel's document (a new
   * revision, which confirms the panel's content and makes it write its cache). Short in the
   * boot tests so that a panel provisioned with a short freshness window stays live while the
   * backend runs, and turns stale within minutes once it is stopped.
   */
  static async create(o: { dataDir?: string; refreshIntervalSeconds?: number } = {}): Promise<BootBackend> {
    const dataDir = o.dataDir ?? mkdtempSync(join(tmpdir(), 'airpanel-boot-backend-'));
    return new BootBackend(dataDir, await freePort(), await freePort(), o.refreshIntervalSeconds ?? 300);
  }

  /** The host URL a technician's tools use (127.0.0.1). */
  get url(): string {
    return this.process.url;
  }

  /** The guest forwards that make the backend reachable from the guest, and nothing else. */
  guestForwards(): GuestForward[] {
    return [
      { guestAddress: GUEST_BACKEND_ADDRESS, guestPort: GUEST_HTTP_PORT, hostPort: this.httpPort },
      { guestAddress: GUEST_BACKEND_ADDRESS, guestPort: GUEST_MQTT_PORT, hostPort: this.mqttPort },
    ];
  }

  start(): Promise<void> {
    return this.process.start(60_000);
  }

  async stop(): Promise<void> {
    await this.process.kill('SIGTERM');
  }

  /** A simulated sensor (fed by postReading) for a panel to show. */
  async createSensor(sensorId: string): Promise<void> {
    await this.api.http.post('sensors', { json: { id: sensorId, name: `Sensor ${sensorId}`, spec: { kind: 'simulated' } } });
  }

  postReading(sensorId: string, pm25: number): Promise<void> {
    return this.api.postReading(sensorId, pm25);
  }

  panel(panelId: string): Promise<PanelSummary> {
    return this.api.panel(panelId);
  }

  /** The document the backend serves the panel now. */
  async display(panelId: string): Promise<DisplayDocument> {
    return DisplayDocument.parse(await this.api.http.get(`panels/${panelId}/display`).json());
  }

  /** Sends a command as an operator would; resolves with its record (id, acks so far). */
  async sendCommand(panelId: string, kind: CommandKind): Promise<CommandRecord> {
    return CommandRecord.parse(await this.api.http.post(`panels/${panelId}/commands`, { json: { kind } }).json());
  }

  async command(panelId: string, commandId: string): Promise<CommandRecord> {
    return CommandRecord.parse(await this.api.http.get(`panels/${panelId}/commands/${commandId}`).json());
  }
}
