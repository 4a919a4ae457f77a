import { beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CONTENT_SET, DisplayDocument, StatusMessage, type ContentSetBody } from '@airpanel/contract';
import type { Backend } from './backend.js';
import type { EncodedDisplayDocument } from './documents/draft.js';
import { NoMqttGateway } from './no-mqtt-gateway.js';
import { useTestBackend } from './test-support.js';

/** Stands in for the MQTT gateway only to record what the backend publishes, in order. */
class RecordingGatewayFake extends NoMqttGateway {
  readonly published: DisplayDocument[] = [];
  override publishDisplay(encoded: EncodedDisplayDocument): Promise<void> {
    this.published.push(encoded.document);
    return Promise.resolve();
  }
}

/** More than a few reissue chunks (250 panels each), so the edit yields between them. */
const PANELS = 1_200;

function contentWithMessage(message: string): ContentSetBody {
  const { id: _id, ...body } = DEFAULT_CONTENT_SET;
  return {
    ...body,
    byLevel: Object.fromEntries(Object.entries(body.byLevel).map(([level, content]) => [level, { ...content!, message }])),
  };
}

describe('an edit that touches the whole fleet', () => {
  const server = useTestBackend({}, { per: 'suite' });
  let backend: Backend;
  let gateway: RecordingGatewayFake;

  beforeAll(async () => {
    gateway = new RecordingGatewayFake();
    backend = await server.start({ gatewayFactory: () => gateway });
    backend.contentSets.create({ ...contentWithMessage('first'), id: 'fleet' });
    for (let i = 0; i < PANELS; i++)
      await backend.panels.create({ id: `panel-${String(i).padStart(4, '0')}`, name: `Panel ${i}`, contentSetId: 'fleet' });
  }, 60_000);

  const put = (message: string) =>
    server.api('replaceContentSet', {
      params: { contentSetId: 'fleet' },
      token: backend.adminToken,
      body: contentWithMessage(message),
    });
  const shown = (panelId: string) => backend.documents.display(panelId)!.document;

  it('answers once every panel has its new document, each published once with its own revision', async () => {
    gateway.published.length = 0;
    const answer = await put('second');
    expect(answer.status).toBe(200);
    expect(gateway.published).toHaveLength(PANELS);
    expect(new Set(gateway.published.map((d) => d.panelId)).size).toBe(PANELS);
    const revisions = gateway.published.map((d) => d.revision);
    expect(new Set(revisions).size).toBe(PANELS);
    expect(revisions).toEqual([...revisions].sort((a, b) => a - b));
    for (const doc of gateway.published) expect(doc.content.message).toBe('second');
    // What is served over HTTP is what was published.
    const served = await server.api.admin.call('getDisplay', { params: { panelId: 'panel-0999' } });
    expect(DisplayDocument.parse(served)).toEqual(gateway.published.find((d) => d.panelId === 'panel-0999'));
  });

  it('issues nothing when the edit changes nothing', async () => {
    gateway.published.length = 0;
    expect((await put('second')).status).toBe(200);
    expect(gateway.published).toHaveLength(0);
  });

  it('keeps answering other requests while it reissues', async () => {
    const order: string[] = [];
    const edit = put('third').then(() => order.push('edit'));
    // Sent after the edit, answered before it: the edit yields between chunks.
    const health = server.api('getHealth').then(() => order.push('health'));
    await Promise.all([edit, health]);
    expect(order).toEqual(['health', 'edit']);
    expect(shown('panel-1199').content.message).toBe('third');
  });

  it('ends with the newer of two overlapping edits on every panel', async () => {
    gateway.published.length = 0;
    // Called back to back: the older edit has issued its first chunk and yields; the newer one
    // lands in between, and the older edit's later chunks must not undo it.
    const older = backend.contentSets.replace('fleet', contentWithMessage('older'));
    const newer = backend.contentSets.replace('fleet', contentWithMessage('newer'));
    await Promise.all([older, newer]);
    const olderIssued = gateway.published.filter((d) => d.content.message === 'older').length;
    expect(olderIssued).toBeGreaterThan(0);
    expect(olderIssued).toBeLessThan(PANELS);
    const lastByPanel = new Map<string, DisplayDocument>();
    for (const doc of gateway.published) {
      const before = lastByPanel.get(doc.panelId);
      if (before) expect(doc.revision).toBeGreaterThan(before.revision);
      lastByPanel.set(doc.panelId, doc);
    }
    expect(lastByPanel.size).toBe(PANELS);
    for (const [panelId, doc] of lastByPanel) {
      expect(doc.content.message).toBe('newer');
      expect(shown(panelId)).toEqual(doc);
    }
  });

  it('records what the fleet reports in one batch, and reads see it at once', async () => {
    const status = (panelId: string, displayedRevision: number) => ({
      panelId,
      online: true,
      firmwareVersion: '1.2.3',
      state: 'live' as const,
      stateReason: 'document received',
      displayedRevision,
      uptimeSeconds: 5,
      lastError: null,
      maintenanceCode: null,
      sentAt: '2026-05-01T10:00:00.000Z',
    });
    for (let i = 0; i < PANELS; i++)
      backend.panelMessages.onStatus(
        `panel-${String(i).padStart(4, '0')}`,
        StatusMessage.parse(status(`panel-${String(i).padStart(4, '0')}`, 1000 + i)),
      );
    // Not flushed yet (it would be at the next event-loop turn): the read flushes first.
    expect(backend.panels.get('panel-1199')).toMatchObject({ online: true, displayedRevision: 2199, firmwareVersion: '1.2.3' });
    // A report from a panel deleted before the flush is dropped without losing the others.
    backend.panelMessages.onStatus('panel-0001', StatusMessage.parse(status('panel-0001', 5)));
    backend.panelMessages.onStatus('panel-0002', StatusMessage.parse(status('panel-0002', 6)));
    await backend.panels.delete('panel-0001');
    expect(backend.panels.get('panel-0002').displayedRevision).toBe(6);
  });
});

describe('panel reports and shutdown', () => {
  const server = useTestBackend();

  it('logs a report that arrives while the backend shuts down instead of ending the process', async () => {
    const errors: string[] = [];
    const logger = {
      debug: () => undefined,
      info: () => undefined,
      warn: () => undefined,
      error: (message: string) => void errors.push(message),
    };
    const backend = await server.start({ logger });
    await backend.panels.create({ id: 'panel-late', name: 'Late' });
    const late = StatusMessage.parse({ panelId: 'panel-late', online: false });
    await backend.close();
    // The gateway may still hand over a last will while the database closes.
    backend.panelMessages.onStatus('panel-late', late);
    await new Promise((resolve) => setImmediate(resolve));
    expect(errors).toContain('recording panel messages failed');
  });
});
