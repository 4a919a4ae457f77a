import { Command, panelTopics } from '@airpanel/contract';
import type { EncodedDisplayDocument } from '../documents/draft.js';
import type { MqttGateway } from './gateway.js';

/**
 * What the backend sends to panels, checked against the contract on the way out: a panel
 * drops anything invalid, so a backend bug must fail here, loudly, instead. Display
 * documents arrive checked already (EncodedDisplayDocument); commands are checked here.
 */

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
    async publishDisplay(encoded: EncodedDisplayDocument): Promise<void> {
      await publish(panelTopics(encoded.document.panelId).display, Buffer.from(encoded.json, 'utf8'), true);
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
