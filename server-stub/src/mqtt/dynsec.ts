import { pbkdf2Sync, randomBytes, randomUUID } from 'node:crypto';
import { z } from 'zod';
import { TOPIC_PREFIX, panelTopics } from '@airpanel/contract';
import type { Logger } from '@airpanel/node-support/logger';

/**
 * Mosquitto's dynamic security plugin, as the backend uses it.
 *
 * Why dynsec and not a password file + ACL file: the backend creates and deletes panels
 * while the broker runs. With dynsec it tells the broker over MQTT (`$CONTROL/...`), the
 * change applies at once, a deleted panel is disconnected by the broker itself, and the
 * backend needs no write access to the broker's files nor the right to signal its process
 * (which fails as soon as the broker runs on another host or in another container). A
 * password file needs both: rewrite the file, then SIGHUP, and a panel removed from it stays
 * connected until it reconnects.
 *
 * Each panel gets a client (username = client id = panel id, password = its key) and a role
 * of its own allowing exactly its four topics: dynsec in Mosquitto 2.0 has no `%u`
 * substitution in ACL topics (checked on 2.0.11: `%u` matches only a literal `%u`), so one
 * shared role cannot say "its own".
 */

export const DYNSEC_CONTROL_TOPIC = '$CONTROL/dynamic-security/v1';
export const DYNSEC_RESPONSE_TOPIC = '$CONTROL/dynamic-security/v1/response';
export const DEFAULT_DYNSEC_PLUGIN_PATH = '/usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so';

/** The role of the backend's own client: administer dynsec, publish documents and commands, hear panels. */
export const BACKEND_ROLE_NAME = 'airpanel-backend';

export type DynsecAclType =
  'publishClientSend' | 'publishClientReceive' | 'subscribeLiteral' | 'subscribePattern' | 'unsubscribeLiteral' | 'unsubscribePattern';

export interface DynsecAcl {
  acltype: DynsecAclType;
  topic: string;
  allow: boolean;
  priority?: number;
}

export function backendRoleAcls(): DynsecAcl[] {
  const allow = (acltype: DynsecAclType, topic: string): DynsecAcl => ({ acltype, topic, allow: true });
  return [
    allow('publishClientSend', DYNSEC_CONTROL_TOPIC),
    allow('subscribeLiteral', DYNSEC_RESPONSE_TOPIC),
    allow('publishClientReceive', DYNSEC_RESPONSE_TOPIC),
    allow('publishClientSend', `${TOPIC_PREFIX}/+/display`),
    allow('publishClientSend', `${TOPIC_PREFIX}/+/commands`),
    allow('subscribeLiteral', `${TOPIC_PREFIX}/+/status`),
    allow('subscribeLiteral', `${TOPIC_PREFIX}/+/events`),
    allow('publishClientReceive', `${TOPIC_PREFIX}/+/status`),
    allow('publishClientReceive', `${TOPIC_PREFIX}/+/events`),
  ];
}

export function panelRoleName(panelId: string): string {
  return `airpanel-panel-${panelId}`;
}

/** Exactly the panel's own topics: publish status and events, subscribe display and commands. */
export function panelRoleAcls(panelId: string): DynsecAcl[] {
  const topics = panelTopics(panelId);
  return [
    { acltype: 'publishClientSend', topic: topics.status, allow: true },
    { acltype: 'publishClientSend', topic: topics.events, allow: true },
    { acltype: 'subscribeLiteral', topic: topics.display, allow: true },
    { acltype: 'subscribeLiteral', topic: topics.commands, allow: true },
  ];
}

/**
 * A panel's client and role as they stand in the dynsec file: what `upsertPanel` makes the
 * running broker create, for writing into the file of a stopped broker instead. Mosquitto
 * 2.0 saves its whole file after every dynsec command, so creating accounts one by one costs
 * more the more there are (measured: test/bench/mosquitto-provisioning.ts); a large fleet
 * imported at once is seeded this way. `iterations` 101 is what Mosquitto 2.0 uses itself for
 * passwords set through dynsec.
 */
export function panelDynsecEntries(
  panelId: string,
  key: string,
  iterations = 101,
): { client: Record<string, unknown>; role: Record<string, unknown> } {
  const rolename = panelRoleName(panelId);
  return {
    client: { username: panelId, clientid: panelId, ...hashDynsecPassword(key, iterations), roles: [{ rolename }] },
    role: { rolename, acls: panelRoleAcls(panelId) },
  };
}

export interface DynsecPasswordHash {
  password: string;
  salt: string;
  iterations: number;
}

/**
 * How dynsec stores a password in its JSON file: PBKDF2-HMAC-SHA512 over the password with a
 * 12-byte salt, 64-byte result, both base64 (the layout `mosquitto_ctrl dynsec init` writes).
 */
export function hashDynsecPassword(password: string, iterations = 10_000, salt: Buffer = randomBytes(12)): DynsecPasswordHash {
  return {
    password: pbkdf2Sync(password, salt, iterations, 64, 'sha512').toString('base64'),
    salt: salt.toString('base64'),
    iterations,
  };
}

/** One command of the dynsec control API, e.g. `{ command: 'createClient', username, ... }`. */
export type DynsecCommand = { command: string } & Record<string, unknown>;

const DynsecResponses = z.object({
  responses: z.array(
    z.object({
      command: z.string(),
      error: z.string().optional(),
      correlationData: z.string().optional(),
      data: z.unknown().optional(),
    }),
  ),
});
export type DynsecResponse = z.infer<typeof DynsecResponses>['responses'][number];

/** Errors that mean "already as wanted" when the backend makes a panel's state idempotently. */
const HARMLESS_ERRORS: Record<string, RegExp> = {
  deleteClient: /not found/i,
  deleteRole: /not found/i,
  createRole: /already exists/i,
};

interface Pending {
  resolve: (response: DynsecResponse) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

/**
 * Talks to the dynsec plugin over MQTT. It does not own a connection: the external gateway
 * passes a publish function and feeds it what arrives on the response topic.
 */
export class DynsecAdmin {
  private readonly pending = new Map<string, Pending>();

  /**
   * `backendUsername` is the account this admin runs as: a panel may never be given that id
   * here, or "registering" it would delete and replace the backend's own account.
   */
  constructor(
    private readonly publish: (topic: string, payload: string) => Promise<void>,
    private readonly logger: Logger,
    private readonly backendUsername: string,
    private readonly timeoutMs = 5_000,
  ) {}

  /** Feed every message of DYNSEC_RESPONSE_TOPIC here. */
  handleResponse(payload: Buffer): void {
    let parsed: z.infer<typeof DynsecResponses>;
    try {
      parsed = DynsecResponses.parse(JSON.parse(payload.toString('utf8')));
    } catch (error) {
      this.logger.warn('mqtt: unreadable dynamic-security response dropped', { error: (error as Error).message });
      return;
    }
    for (const response of parsed.responses) {
      const pending = response.correlationData === undefined ? undefined : this.pending.get(response.correlationData);
      if (!pending) continue; // another admin's answer, or one that already timed out
      this.pending.delete(response.correlationData as string);
      clearTimeout(pending.timer);
      pending.resolve(response);
    }
  }

  /** Runs commands in order (one message; the plugin processes them in sequence) and returns their responses. */
  async execute(commands: DynsecCommand[]): Promise<DynsecResponse[]> {
    const batch = randomUUID();
    const tagged = commands.map((command, index) => ({ ...command, correlationData: `${batch}.${index}` }));
    const answers = tagged.map(
      (command) =>
        new Promise<DynsecResponse>((resolve, reject) => {
          const timer = setTimeout(() => {
            this.pending.delete(command.correlationData);
            reject(
              new Error(
                `the broker did not answer dynamic-security command ${command.command} within ${this.timeoutMs} ms (is the plugin loaded, and may this client use ${DYNSEC_CONTROL_TOPIC}?)`,
              ),
            );
          }, this.timeoutMs);
          this.pending.set(command.correlationData, { resolve, reject, timer });
        }),
    );
    // Subscribe to the answers before awaiting the publish: a broker slow enough that an
    // answer times out while its PUBACK is still awaited would otherwise reject a promise no
    // one listens to yet, and an unhandled rejection ends the whole backend.
    const all = Promise.all(answers);
    all.catch(() => undefined);
    try {
      await this.publish(DYNSEC_CONTROL_TOPIC, JSON.stringify({ commands: tagged }));
    } catch (error) {
      this.failAll(
        new Error(`sending dynamic-security commands failed: ${(error as Error).message}`),
        tagged.map((c) => c.correlationData),
      );
    }
    return all;
  }

  /** Like `execute`, but throws on any error that is not harmless for the command. */
  async executeStrict(commands: DynsecCommand[], what: string): Promise<void> {
    const responses = await this.execute(commands);
    const failures = responses.filter((r) => r.error !== undefined && !(HARMLESS_ERRORS[r.command]?.test(r.error) ?? false));
    if (failures.length > 0) {
      throw new Error(`${what}: the broker refused ${failures.map((f) => `${f.command} (${f.error})`).join(', ')}`);
    }
  }

  /**
   * Creates or replaces a panel's client and role. The client is deleted first, so a panel
   * still connected with an old key is disconnected by the broker and must use the new one.
   */
  async upsertPanel(panelId: string, key: string): Promise<void> {
    this.refuseBackendAccount(panelId);
    const rolename = panelRoleName(panelId);
    await this.executeStrict(
      [
        { command: 'deleteClient', username: panelId },
        { command: 'createRole', rolename, acls: panelRoleAcls(panelId) },
        { command: 'createClient', username: panelId, password: key, clientid: panelId, roles: [{ rolename }] },
      ],
      `registering panel ${panelId} on the broker`,
    );
  }

  /** Deletes a panel's client (the broker disconnects it) and its role. */
  async removePanel(panelId: string): Promise<void> {
    this.refuseBackendAccount(panelId);
    await this.executeStrict(
      [
        { command: 'deleteClient', username: panelId },
        { command: 'deleteRole', rolename: panelRoleName(panelId) },
      ],
      `removing panel ${panelId} from the broker`,
    );
  }

  /** Usernames of every client the plugin knows (panels and the backend). */
  async listClientUsernames(): Promise<string[]> {
    const [response] = await this.execute([{ command: 'listClients', verbose: false, count: -1, offset: 0 }]);
    if (!response || response.error !== undefined) throw new Error(`listing broker accounts failed: ${response?.error ?? 'no answer'}`);
    const listed = z.object({ clients: z.array(z.string()) }).safeParse(response.data);
    if (!listed.success) throw new Error(`listing broker accounts failed: unexpected answer ${JSON.stringify(response.data)}`);
    return listed.data.clients;
  }

  /** Rejects everything still waiting (the connection is going away). */
  close(): void {
    this.failAll(new Error('the dynamic-security admin was closed'), [...this.pending.keys()]);
  }

  private refuseBackendAccount(panelId: string): void {
    if (panelId === this.backendUsername) {
      throw new Error(`panel id ${panelId} is the backend's own broker account; choose another panel id`);
    }
  }

  private failAll(error: Error, ids: string[]): void {
    for (const id of ids) {
      const pending = this.pending.get(id);
      if (!pending) continue;
      this.pending.delete(id);
      clearTimeout(pending.timer);
      pending.reject(error);
    }
  }
}
