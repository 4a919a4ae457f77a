import { describe, expect, it } from 'vitest';
import { DYNSEC_CONTROL_TOPIC, DynsecAdmin, panelRoleAcls } from './dynsec.js';
import { RecordingLogger } from './test-support/mqtt-test-kit.js';

/** Stands in for the broker's $CONTROL topic in these DynsecAdmin unit tests. */
class FakeControlTopic {
  readonly sent: Array<{ topic: string; commands: Array<Record<string, unknown>> }> = [];
  admin?: DynsecAdmin;
  constructor(private readonly answer: (command: Record<string, unknown>) => Record<string, unknown> | undefined) {}
  publish = async (topic: string, payload: string): Promise<void> => {
    const { commands } = JSON.parse(payload) as { commands: Array<Record<string, unknown>> };
    this.sent.push({ topic, commands });
    const responses = commands.map((c) => this.answer(c)).filter((r) => r !== undefined);
    if (responses.length > 0) queueMicrotask(() => this.admin?.handleResponse(Buffer.from(JSON.stringify({ responses }))));
  };
}

function adminWith(control: FakeControlTopic, timeoutMs = 5_000) {
  const logger = new RecordingLogger();
  const admin = new DynsecAdmin(control.publish, logger, 'airpanel-backend', timeoutMs);
  control.admin = admin;
  return { admin, logger };
}

describe('DynsecAdmin', () => {
  it('rejects cleanly, with no unhandled rejection, when answers time out while the publish is still awaited', async () => {
    // A broker slow to PUBACK: the publish outlives the answer timeout (seen with Mosquitto
    // rewriting a large dynamic-security file while a fleet was provisioned).
    let releasePublish: () => void = () => undefined;
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const slowPublish = () => new Promise<void>((resolve) => (releasePublish = resolve));
      const admin = new DynsecAdmin(slowPublish, new RecordingLogger(), 'airpanel-backend', 20);
      const outcome = admin.upsertPanel('panel-slow', 'k'.repeat(40)).then(
        () => 'resolved',
        (e: Error) => e.message,
      );
      await new Promise((r) => setTimeout(r, 80));
      releasePublish();
      expect(await outcome).toMatch(/did not answer dynamic-security command deleteClient within 20 ms/);
      await new Promise((r) => setTimeout(r, 10));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('creates a panel idempotently: a missing client or an existing role is no error', async () => {
    const control = new FakeControlTopic((c) => ({
      command: c['command'],
      correlationData: c['correlationData'],
      ...(c['command'] === 'deleteClient'
        ? { error: 'Client not found' }
        : c['command'] === 'createRole'
          ? { error: 'Role already exists' }
          : {}),
    }));
    const { admin } = adminWith(control);
    await admin.upsertPanel('panel-a', 'key');
    expect(control.sent[0]?.topic).toBe(DYNSEC_CONTROL_TOPIC);
    expect(control.sent[0]?.commands.map((c) => c['command'])).toEqual(['deleteClient', 'createRole', 'createClient']);
    expect(control.sent[0]?.commands[1]).toMatchObject({ rolename: 'airpanel-panel-panel-a', acls: panelRoleAcls('panel-a') });
    expect(control.sent[0]?.commands[2]).toMatchObject({ username: 'panel-a', clientid: 'panel-a', password: 'key' });
  });

  it('reports a refusal that matters, naming the command', async () => {
    const control = new FakeControlTopic((c) => ({
      command: c['command'],
      correlationData: c['correlationData'],
      ...(c['command'] === 'createClient' ? { error: 'Permission denied' } : {}),
    }));
    const { admin } = adminWith(control);
    await expect(admin.upsertPanel('panel-a', 'key')).rejects.toThrow(
      /registering panel panel-a on the broker: the broker refused createClient \(Permission denied\)/,
    );
  });

  it("never touches the backend's own account, whatever the panel id", async () => {
    const control = new FakeControlTopic((c) => ({ command: c['command'], correlationData: c['correlationData'] }));
    const { admin } = adminWith(control);
    await expect(admin.upsertPanel('airpanel-backend', 'key')).rejects.toThrow(/backend's own broker account/);
    await expect(admin.removePanel('airpanel-backend')).rejects.toThrow(/backend's own broker account/);
    expect(control.sent).toEqual([]);
  });

  it('times out with a hint when the plugin does not answer, and logs unreadable answers', async () => {
    const control = new FakeControlTopic(() => undefined);
    const { admin, logger } = adminWith(control, 50);
    await expect(admin.removePanel('panel-a')).rejects.toThrow(
      /did not answer dynamic-security command deleteClient within 50 ms \(is the plugin loaded/,
    );
    admin.handleResponse(Buffer.from('not json'));
    expect(logger.has('warn', 'unreadable dynamic-security response')).toBe(true);
  });
});
