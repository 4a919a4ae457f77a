import type { PanelConfig, panelTopics } from '@airpanel/contract';
import type { CommandProcessor } from './commands.js';
import type { DisplaySync } from './display-sync.js';
import type { MqttLink } from './mqtt-link.js';

/** Everything a running panel needs once the config is known good. */
export interface Connected {
  config: PanelConfig;
  topics: ReturnType<typeof panelTopics>;
  /** Null when panel.json has no MQTT URL (polling only). */
  link: MqttLink | null;
  sync: DisplaySync;
  commands: CommandProcessor;
}

/**
 * The lifecycle of one `PanelCore` run: start() and stop(), not what the panel shows (that is
 * `PanelState`, state-machine.ts).
 *
 * ```text
 *          start()                  config unusable (cache shown, no backend)
 *   new ─────────▶ starting ──────────────────────────────────────▶ running { connected: null }
 *    │                │  └── connected (MQTT link and poller built) ─▶ running { connected }
 *    │                │                                                  │
 *    │ stop()         │ stop() (a start in progress notices and ends)     │ stop()
 *    └────────────────┴─────────────────▶ stopping ◀────────────────────┘
 *                                            │ offline status sent, MQTT closed, cache flushed
 *                                            ▼
 *                                         stopped
 * ```
 *
 * - new: constructed; start() has not been called. A second start() does nothing.
 * - starting: loading the cache and building the connection; the cached view may be up.
 * - running: inputs (documents, frames, sensor changes, updater reports) are acted on.
 *   `connected` is null when panel.json is unusable: the panel shows its cache or maintenance.
 * - stopping: stop() was called; nothing new is started, documents are ignored.
 * - stopped: terminal; every timer is cleared. A second stop() does nothing.
 *
 * `stopping` and `stopped` keep the connection they had so the offline status still names
 * the panel.
 */
export type CoreLifecycle =
  | { type: 'new' }
  | { type: 'starting'; reason: string }
  | { type: 'running'; reason: string; connected: Connected | null }
  | { type: 'stopping'; reason: string; connected: Connected | null }
  | { type: 'stopped'; reason: string; connected: Connected | null };

/** stop() has been called. */
export function isStopping(lifecycle: CoreLifecycle): boolean {
  return lifecycle.type === 'stopping' || lifecycle.type === 'stopped';
}

/** The connection of this run, if it got that far. */
export function connectionOf(lifecycle: CoreLifecycle): Connected | null {
  return 'connected' in lifecycle ? lifecycle.connected : null;
}
