import { Command, DISPLAY_DOCUMENT_MAX_BYTES, DisplayDocument, panelTopics } from '../../../src-main/common/index.js';
import type { MqttGateway } from './gateway.js';

/**
 * What the backend sends to panels, checked against the contract on the way out: a panel
 * drops anything invalid or oversized, so a backend bug must fail here, loudly, instead.
 */

export function encodeDisplayDocument(doc: DisplayDocument): Buffer {
  const checked = DisplayDocument.safeParse(doc);
  if (!checked.success) throw new Error(`refusing to publish an invalid DisplayDocument: ${checked.error.message}`);
  const payload = Buffer.from(JSON.stringify(checked.data), 'utf8');
  if (payload.length > DISPLAY_DOCUMENT_MAX_BYTES) {
    throw new Error(`DisplayDocument of panel ${doc.panelId} is ${payload.length} bytes; panels drop anything over ${DISPLAY_DOCUMENT_MAX_BYTES}`);
  }
  return payload;
}

export function encodeCommand(command: Command): Buffer {
  const checked = Command.safeParse(command);
  if (!checked.success) throw new Error(`refusing to publish an invalid Command: ${checked.error.message}`);
  return Buffer.from(JSON.stringify(checked.data), 'utf8');
}

/**
 * The publishing half of a gateway (embedded or external), given how it publishes one
 * message: display documents retained, commands not.
 */
export function panelPublishing(
  publish: (topic: string, payload: Buffer, retain: boolean) => Promise<void>,
): Pick<MqttGateway, 'publishDisplay' | 'clearDisplay' | 'publishCommand'> {
  return {
    async publishDisplay(doc: DisplayDocument): Promise<void> {
      await publish(panelTopics(doc.panelId).display, encodeDisplayDocument(doc), true);
    },
    async clearDisplay(panelId: string): Promise<void> {
      // An empty retained message deletes the retained one (MQTT 3.3.1.3).
      await publish(panelTopics(panelId).display, Buffer.alloc(0), true);
    },
    async publishCommand(command: Command): Promise<void> {
      await publish(panelTopics(command.panelId).commands, encodeCommand(command), false);
    },
  };
}
