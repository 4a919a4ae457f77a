import type { Logger } from '@airpanel/node-support/logger';
import { Identifier, PanelEvent, StatusMessage, TOPIC_PREFIX, panelTopics, parsePanelTopic } from '@airpanel/contract';
import type { PanelMessageSink } from './gateway.js';

/**
 * What panels may do on the broker and how their messages are checked. Both gateways
 * (embedded aedes, external Mosquitto) apply the same rules, so they live here once.
 */

/**
 * Upper bound for a status or event message from a panel (bytes of UTF-8 JSON). A full
 * PanelStatus with every text at its maximum is under 4 KiB; anything bigger is a bug or an
 * attack and is dropped before parsing.
 */
export const PANEL_MESSAGE_MAX_BYTES = 16 * 1024;

/** The topics the backend listens to: every panel's status and events. */
export const BACKEND_SUBSCRIPTIONS = [`${TOPIC_PREFIX}/+/status`, `${TOPIC_PREFIX}/+/events`] as const;

/** True when `candidate` can be used as a panel id (and so as a topic level and an MQTT username). */
export function isPanelId(candidate: string | undefined): candidate is string {
  return candidate !== undefined && Identifier.safeParse(candidate).success;
}

/** A panel may publish only on its own status and events topics (exact topics, no wildcards). */
export function panelMayPublish(panelId: string, topic: string): boolean {
  const own = panelTopics(panelId);
  return topic === own.status || topic === own.events;
}

/** A panel may subscribe only to its own display and commands topics (exact topics, no wildcards). */
export function panelMaySubscribe(panelId: string, topicFilter: string): boolean {
  const own = panelTopics(panelId);
  return topicFilter === own.display || topicFilter === own.commands;
}

export type DecodedPanelMessage =
  | { kind: 'status'; panelId: string; message: StatusMessage }
  | { kind: 'event'; panelId: string; event: PanelEvent }
  | { kind: 'ignored'; reason: string }
  | { kind: 'invalid'; reason: string };

/**
 * Turns one message seen by the backend into a status or event, or says why not. Never
 * throws: whatever a panel sends, the backend keeps running.
 */
export function decodePanelMessage(topic: string, payload: Uint8Array): DecodedPanelMessage {
  const parsed = parsePanelTopic(topic);
  if (!parsed || (parsed.kind !== 'status' && parsed.kind !== 'events')) {
    return { kind: 'ignored', reason: `not a panel status or events topic: ${topic}` };
  }
  // An empty retained message clears the topic; it says nothing about the panel.
  if (payload.byteLength === 0) return { kind: 'ignored', reason: 'empty payload (retained message cleared)' };
  if (payload.byteLength > PANEL_MESSAGE_MAX_BYTES) {
    return { kind: 'invalid', reason: `payload of ${payload.byteLength} bytes exceeds ${PANEL_MESSAGE_MAX_BYTES}` };
  }
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(payload));
  } catch (error) {
    return { kind: 'invalid', reason: `payload is not UTF-8 JSON: ${(error as Error).message}` };
  }
  if (parsed.kind === 'status') {
    const result = StatusMessage.safeParse(json);
    if (!result.success) return { kind: 'invalid', reason: `not a StatusMessage: ${result.error.message}` };
    if (result.data.panelId !== parsed.panelId) {
      return { kind: 'invalid', reason: `status names panel ${result.data.panelId} on panel ${parsed.panelId}'s topic` };
    }
    return { kind: 'status', panelId: parsed.panelId, message: result.data };
  }
  const result = PanelEvent.safeParse(json);
  if (!result.success) return { kind: 'invalid', reason: `not a PanelEvent: ${result.error.message}` };
  const claimed =
    result.data.type === 'command-ack'
      ? result.data.ack.panelId
      : result.data.type === 'sensor-reading'
        ? result.data.reading.panelId
        : result.data.panelId;
  if (claimed !== parsed.panelId) {
    return { kind: 'invalid', reason: `event names panel ${claimed} on panel ${parsed.panelId}'s topic` };
  }
  return { kind: 'event', panelId: parsed.panelId, event: result.data };
}

/**
 * Decodes a message and hands it to the sink (and returns what it decoded). Invalid messages are logged and dropped; a
 * sink that throws is logged too, so one bad record cannot stop the broker or the client.
 */
export function deliverPanelMessage(sink: PanelMessageSink, logger: Logger, topic: string, payload: Uint8Array): DecodedPanelMessage {
  const decoded = decodePanelMessage(topic, payload);
  try {
    switch (decoded.kind) {
      case 'status':
        sink.onStatus(decoded.panelId, decoded.message);
        break;
      case 'event':
        sink.onEvent(decoded.panelId, decoded.event);
        break;
      case 'ignored':
        logger.debug('mqtt: message ignored', { topic, reason: decoded.reason });
        break;
      case 'invalid':
        logger.warn('mqtt: invalid panel message dropped', { topic, reason: decoded.reason });
        break;
    }
  } catch (error) {
    logger.error('mqtt: the backend failed to record a panel message', { topic, error: (error as Error).message });
  }
  return decoded;
}
