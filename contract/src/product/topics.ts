import type { Identifier } from './primitives.js';

/** Every MQTT topic of the system lives under this prefix; the version is part of the contract. */
export const TOPIC_PREFIX = 'airpanel/v1/panels';

export const PANEL_TOPIC_KINDS = ['display', 'status', 'commands', 'events'] as const;
export type PanelTopicKind = (typeof PANEL_TOPIC_KINDS)[number];
export type PanelTopics = Record<PanelTopicKind, string>;

/**
 * The four topics of one panel. The backend publishes `display` (retained) and `commands`;
 * the panel publishes `status` (retained, with a last will) and `events` (command acks,
 * transitions). The broker lets a panel touch only its own four.
 */
export function panelTopics(panelId: Identifier): PanelTopics {
  const base = `${TOPIC_PREFIX}/${panelId}`;
  return { display: `${base}/display`, status: `${base}/status`, commands: `${base}/commands`, events: `${base}/events` };
}

/** Splits a topic into panel id and kind, or null when it is not a panel topic. */
export function parsePanelTopic(topic: string): { panelId: string; kind: PanelTopicKind } | null {
  if (!topic.startsWith(`${TOPIC_PREFIX}/`)) return null;
  const rest = topic.slice(TOPIC_PREFIX.length + 1).split('/');
  if (rest.length !== 2) return null;
  const [panelId, kind] = rest as [string, string];
  if (!panelId || !(PANEL_TOPIC_KINDS as readonly string[]).includes(kind)) return null;
  return { panelId, kind: kind as PanelTopicKind };
}
