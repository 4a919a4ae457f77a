// The panel core against the real backend (server-stub's createBackend): REST, the embedded
// MQTT broker (aedes) with panel authentication, SQLite. The broker is made killable by a
// gateway wrapper so a broker outage can be played while the HTTP API stays up.
import { describe, expect, it } from 'vitest';
import type { Command, ContentSet, PanelSummary } from '@airpanel/contract';
import { waitFor } from '@airpanel/panel/core/testing/fixtures';
import { silentLogger } from '@airpanel/backend/logger';
import { createEmbeddedGateway } from '@airpanel/backend/mqtt/embedded-gateway';
import type { EncodedDisplayDocument } from '@airpanel/backend/documents/draft';
import type { MqttGateway } from '@airpanel/backend/mqtt/gateway';
import type { GatewayBackend } from '@airpanel/backend/mqtt/gateway';
import { provisionPanel, startBackend, startPanel, useCleanups } from './harness/index.js';

/** The embedded gateway, but one that can be killed and started again on the same port. */
class KillableGateway implements MqttGateway {
  private inner: MqttGateway;
  private port = 0;
  private dead = false;

  constructor(private readonly service: GatewayBackend) {
    this.inner = this.make(0);
  }

  private make(port: number): MqttGateway {
    return createEmbeddedGateway({ host: '127.0.0.1', port, verifier: this.service, sink: this.service, logger: silentLogger });
  }

  async start(): Promise<void> {
    await this.inner.start();
    this.port = Number(new URL(this.inner.panelUrl).port);
  }

  async kill(): Promise<void> {
    this.dead = true;
    await this.inner.close();
  }

  /** A fresh broker on the same port; like a restarted backend, it republishes every document. */
  async revive(): Promise<void> {
    this.inner = this.make(this.port);
    await this.inner.start();
    this.dead = false;
    this.service.publishAll();
  }

  close(): Promise<void> {
    return this.inner.close();
  }
  get panelUrl(): string {
    return this.inner.panelUrl;
  }
  private alive(): void {
    if (this.dead) throw new Error('broker down');
  }
  async publishDisplay(encoded: EncodedDisplayDocument): Promise<void> {
    this.alive();
    await this.inner.publishDisplay(encoded);
  }
  async clearDisplay(panelId: string): Promise<void> {
    this.alive();
    await this.inner.clearDisplay(panelId);
  }
  async publishCommand(command: Command): Promise<void> {
    this.alive();
    await this.inner.publishCommand(command);
  }
  registerPanelCredentials(panelId: string, apiKey: string): Promise<void> {
    return this.dead ? Promise.resolve() : this.inner.registerPanelCredentials(panelId, apiKey);
  }
  removePanelCredentials(panelId: string): Promise<void> {
    return this.dead ? Promise.resolve() : this.inner.removePanelCredentials(panelId);
  }
  connectedPanelCount(): number {
    return this.dead ? 0 : this.inner.connectedPanelCount();
  }
}

const cleanups = useCleanups();

describe('panel core ⇄ real backend', () => {
  it('goes live at once on an admin change, stale when the broker dies, live again when it is back', async () => {
    let gateway: KillableGateway | null = null;
    const { admin } = await startBackend({
      mode: 'in-process',
      cleanups,
      backend: { startLoops: false, gatewayFactory: ({ service }) => (gateway = new KillableGateway(service)) },
    });

    const registration = await provisionPanel(admin, { panelId: 'panel-e2e', name: 'Main street', sensorId: null });
    const { core, entries } = await startPanel({
      mode: 'in-process',
      cleanups,
      registration,
      fastTuning: false,
      firmwareVersion: '1.0.0-e2e',
      // A fixed draw puts the first fallback poll at half a poll period (30 s), far beyond
      // the window: what this test watches is the broker outage alone. (In production the
      // poll period is shorter than the window, so a live HTTP API keeps a panel live.)
      // With its loops off the backend renews nothing, so only the admin change and the
      // reconnect confirm the content.
      random: () => 0.5,
      tuning: {
        freshnessWindowMs: 2_500,
        pollIntervalMs: 60_000,
        firstPollMaxDelayMs: 20,
        reconnectBackoff: { minMs: 20, baseMs: 60, maxMs: 200 },
        stableConnectionMs: 100,
      },
    });
    await waitFor('live on the backend document', () => core.state.name === 'live');
    await waitFor('mqtt up', () => entries.some((e) => e.message === 'mqtt up'));

    // An operator edits the content set the panel uses: the panel shows it within a second.
    const contentSet: ContentSet = await admin.client.call('getContentSet', { params: { contentSetId: 'default-en' } });
    const before = core.getView();
    const revisionBefore = before.kind === 'content' ? before.document.revision : 0;
    const { id: _id, ...body } = contentSet;
    for (const level of Object.keys(body.byLevel)) body.byLevel[level] = { ...body.byLevel[level]!, headline: `Edited ${level}` };
    await admin.client.call('replaceContentSet', { params: { contentSetId: 'default-en' }, body });
    await waitFor(
      'the edited headline on screen',
      () => {
        const view = core.getView();
        return view.kind === 'content' && view.document.content.headline.startsWith('Edited') && view.document.revision > revisionBefore;
      },
      1_000,
    );
    expect(core.state.name).toBe('live');
    const shown = core.getView();
    const shownRevision = shown.kind === 'content' ? shown.document.revision : -1;
    let summary: PanelSummary | null = null;
    await waitFor(
      'backend summary',
      () => summary?.state === 'live' && summary.displayedRevision === shownRevision && summary,
      2_000,
      async () => {
        summary = await admin.panel('panel-e2e');
      },
    );

    // The broker dies: after the freshness window the content stays, with the stale badge.
    await gateway!.kill();
    const stale = await waitFor(
      'stale badge',
      () => {
        const view = core.getView();
        return view.kind === 'content' && view.stale && view;
      },
      5_000,
    );
    expect(stale.document.revision).toBe(shownRevision);
    expect(core.state.name).toBe('stale');

    // The broker is back: reconnect, catch-up poll, live again.
    await gateway!.revive();
    await waitFor('live again', () => core.state.name === 'live', 5_000);
    expect(core.getView()).toMatchObject({ kind: 'content', stale: null, document: { revision: shownRevision } });
    const transitions = entries.filter((e) => e.message === 'state transition').map((e) => `${String(e.from)}→${String(e.to)}`);
    expect(transitions).toEqual(['booting→live', 'live→stale', 'stale→live']);
  });
});
