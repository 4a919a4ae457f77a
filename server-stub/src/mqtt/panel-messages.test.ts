import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { panelTopics } from '@airpanel/contract';
import { PANEL_MESSAGE_MAX_BYTES, decodePanelMessage, panelMayPublish, panelMaySubscribe } from './panel-messages.js';
import { sampleStatus } from './test-support/mqtt-test-kit.js';

const bytes = (value: unknown) => Buffer.from(JSON.stringify(value), 'utf8');
const A = panelTopics('panel-a');

describe('panel topic rules', () => {
  it('lets a panel publish its status and events and subscribe its display and commands, nothing else', () => {
    expect([A.status, A.events].every((t) => panelMayPublish('panel-a', t))).toBe(true);
    expect([A.display, A.commands].every((t) => panelMaySubscribe('panel-a', t))).toBe(true);
    expect(
      [A.display, A.commands, panelTopics('panel-b').status, 'airpanel/v1/panels/+/status'].some((t) => panelMayPublish('panel-a', t)),
    ).toBe(false);
    const foreign = [
      A.status,
      A.events,
      panelTopics('panel-b').display,
      'airpanel/v1/panels/+/display',
      'airpanel/v1/panels/panel-a/#',
      '#',
    ];
    expect(foreign.some((t) => panelMaySubscribe('panel-a', t))).toBe(false);
  });
});

describe('decodePanelMessage', () => {
  it('accepts a status and a last will on the matching topic', () => {
    const status = sampleStatus('panel-a');
    expect(decodePanelMessage(A.status, bytes(status))).toEqual({ kind: 'status', panelId: 'panel-a', message: status });
    expect(decodePanelMessage(A.status, bytes({ panelId: 'panel-a', online: false }))).toMatchObject({ kind: 'status' });
  });

  it('drops a status or event whose panel id disagrees with the topic', () => {
    expect(decodePanelMessage(A.status, bytes(sampleStatus('panel-b')))).toMatchObject({
      kind: 'invalid',
      reason: expect.stringMatching(/panel-b/),
    });
    const event = { type: 'state-transition', panelId: 'panel-b', from: 'live', to: 'stale', reason: 'r', at: new Date().toISOString() };
    expect(decodePanelMessage(A.events, bytes(event))).toMatchObject({ kind: 'invalid' });
    expect(decodePanelMessage(A.events, bytes({ ...event, panelId: 'panel-a' }))).toMatchObject({ kind: 'event', panelId: 'panel-a' });
  });

  it('drops oversized, non-UTF-8 and non-JSON payloads, and ignores cleared retained messages', () => {
    const huge = bytes({ ...sampleStatus('panel-a'), stateReason: 'x'.repeat(PANEL_MESSAGE_MAX_BYTES) });
    expect(decodePanelMessage(A.status, huge)).toMatchObject({ kind: 'invalid', reason: expect.stringMatching(/exceeds/) });
    expect(decodePanelMessage(A.status, Buffer.from([0xff, 0xfe, 0x7b]))).toMatchObject({
      kind: 'invalid',
      reason: expect.stringMatching(/UTF-8/),
    });
    expect(decodePanelMessage(A.status, Buffer.from('{"panelId":'))).toMatchObject({ kind: 'invalid' });
    expect(decodePanelMessage(A.status, Buffer.alloc(0))).toMatchObject({ kind: 'ignored' });
    expect(decodePanelMessage(A.display, bytes(sampleStatus('panel-a')))).toMatchObject({ kind: 'ignored' });
  });

  it('never throws and never accepts a message for another panel, whatever arrives', () => {
    const topic = fc.oneof(fc.constantFrom(A.status, A.events, A.display, 'airpanel/v1/panels/panel-b/status', 'x'), fc.string());
    const payload = fc.oneof(
      fc.uint8Array({ maxLength: 256 }),
      fc.jsonValue().map((v) => bytes(v)),
      fc.record({ panelId: fc.constantFrom('panel-a', 'panel-b', ''), online: fc.boolean() }).map((v) => bytes(v)),
    );
    fc.assert(
      fc.property(topic, payload, (t, p) => {
        const decoded = decodePanelMessage(t, p);
        if (decoded.kind === 'status' || decoded.kind === 'event')
          expect(t).toBe(panelTopics(decoded.panelId)[decoded.kind === 'status' ? 'status' : 'events']);
      }),
      { numRuns: 500 },
    );
  });
});
