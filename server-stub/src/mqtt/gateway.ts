import type { Command, PanelEvent, StatusMessage } from '@airpanel/contract';
import type { EncodedDisplayDocument } from '../documents/draft.js';

/**
 * The seam between the backend's domain and its MQTT side. Two implementations: the
 * embedded broker (aedes, default) and an external broker such as Mosquitto that the
 * backend joins as a privileged client. The domain never knows which one runs.
 */

/** Checks a panel's MQTT credentials (username = panel id, password = its API key). */
export interface PanelCredentialVerifier {
  verifyPanelKey(panelId: string, apiKey: string): boolean;
}

/** Where messages from panels go (the backend records them). Already validated. */
export interface PanelMessageSink {
  onStatus(panelId: string, message: StatusMessage): void;
  onEvent(panelId: string, event: PanelEvent): void;
}

/** The backend as a gateway sees it: it checks panel keys, takes panel messages, and re-publishes every document. */
export interface GatewayBackend extends PanelCredentialVerifier, PanelMessageSink {
  publishAll(): void;
}

export interface MqttGateway {
  /** Starts the broker or connects to the external one. */
  start(): Promise<void>;
  /** Flushes what is in flight and stops; safe to call twice. */
  close(): Promise<void>;
  /** The URL panels must use (e.g. mqtt://127.0.0.1:1883). */
  readonly panelUrl: string;
  /** Publishes retained, QoS 1, on the panel's display topic (checked already: see encodeDisplayDocument). */
  publishDisplay(encoded: EncodedDisplayDocument): Promise<void>;
  /** Removes the retained document (panel deleted). */
  clearDisplay(panelId: string): Promise<void>;
  /** Publishes QoS 1, not retained, on the panel's commands topic. */
  publishCommand(command: Command): Promise<void>;
  /** A panel was created or its key changed: external brokers must learn the credentials. */
  registerPanelCredentials(panelId: string, apiKey: string): Promise<void>;
  /** A panel was deleted: it may no longer connect. */
  removePanelCredentials(panelId: string): Promise<void>;
  /** Panels connected right now (for /metrics). */
  connectedPanelCount(): number;
  /**
   * Brokers that keep their own accounts (Mosquitto with dynsec) may drift from the backend:
   * a panel deleted while the broker was unreachable keeps its account. Given every panel
   * id the backend knows, this deletes the accounts of the others and names the panels that
   * have none (their keys must be rotated: the backend has only hashes). Call after start().
   * Absent where the backend's key store is the only one (embedded broker).
   */
  reconcilePanelAccounts?(knownPanelIds: Iterable<string>): Promise<PanelAccountReconciliation>;
}

export interface PanelAccountReconciliation {
  /** Accounts of panels the backend no longer knows, now deleted. */
  removed: string[];
  /** Panels without a broker account: rotate their keys to give them one. */
  missing: string[];
}
