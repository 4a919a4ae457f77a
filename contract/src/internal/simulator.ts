import { z } from 'zod';
import { CommandAckStatus, CommandKind } from '../product/commands.js';
import { IsoDateTime } from '../product/primitives.js';
import { PollutantValues } from '../product/readings.js';

/**
 * The developer simulator (`npm start`): its control page talks to a small HTTP API of the
 * host that serves it (`/simulator/api/*`), shared by the browser simulator (headless host)
 * and the Electron simulator's control window. These are its request and state shapes.
 */

/** Panel sizes a simulator can show, as the hardware variants have them. */
export const PANEL_SIZES = {
  landscape: { width: 1920, height: 1080, label: '1920×1080 landscape' },
  portrait: { width: 1080, height: 1920, label: '1080×1920 portrait' },
  banner: { width: 768, height: 384, label: '768×384 banner' },
} as const;
export const PanelSizeId = z.enum(['landscape', 'portrait', 'banner']);
export type PanelSizeId = z.infer<typeof PanelSizeId>;

export const SimulatorAction = z.discriminatedUnion('action', [
  /** Post a reading for the simulated panel's sensor through the backend admin API. */
  z.object({ action: z.literal('set-reading'), values: PollutantValues }),
  /** Cut or restore the link between the panel and the backend (both HTTP and MQTT). */
  z.object({ action: z.literal('set-network'), up: z.boolean() }),
  /** Stop or start the backend itself. */
  z.object({ action: z.literal('set-backend'), up: z.boolean() }),
  /** Send a command to the panel through the backend admin API. */
  z.object({ action: z.literal('send-command'), kind: CommandKind }),
  z.object({ action: z.literal('set-size'), size: PanelSizeId }),
  /** Set what the panel's own (virtual) sensor measures; null = the sensor goes silent. */
  z.object({ action: z.literal('set-own-sensor'), values: PollutantValues.nullable() }),
]);
export type SimulatorAction = z.infer<typeof SimulatorAction>;

/** `unavailable`: this simulator cannot control that part (e.g. no backend handle). */
export const SwitchState = z.enum(['up', 'down', 'unavailable']);
export type SwitchState = z.infer<typeof SwitchState>;

export const SimulatorState = z.object({
  panelId: z.string(),
  /** Where the panel preview loads from (same origin), or null when shown elsewhere (Electron). */
  panelUrl: z.string().nullable(),
  size: PanelSizeId,
  network: SwitchState,
  backend: SwitchState,
  lastReading: z.object({ values: PollutantValues, at: IsoDateTime }).nullable(),
  /** The panel's own (virtual) sensor: what it streams (null: silent); null when this simulator has none. */
  ownSensor: z.object({ values: PollutantValues.nullable() }).nullable().optional(),
  lastCommand: z
    .object({
      kind: CommandKind,
      id: z.string().nullable(),
      at: IsoDateTime,
      /** The panel's latest acknowledgement, followed for a while after sending. */
      ack: z.object({ status: CommandAckStatus, detail: z.string().nullable() }).nullable(),
    })
    .nullable(),
  /** The last failed action, shown on the page; null after a success. */
  lastError: z.string().max(1000).nullable(),
  /** Readings that put the default scheme in each level (buttons on the control page). */
  presets: z.array(z.object({ label: z.string(), values: PollutantValues })),
  /** What the page offers (from this contract, so the page repeats no list). */
  sizes: z.array(z.object({ id: PanelSizeId, width: z.number().int(), height: z.number().int(), label: z.string() })),
  commands: z.array(CommandKind),
});
export type SimulatorState = z.infer<typeof SimulatorState>;

export const SimulatorActionResult = z.discriminatedUnion('ok', [
  z.object({ ok: z.literal(true), state: SimulatorState }),
  z.object({ ok: z.literal(false), error: z.string(), state: SimulatorState }),
]);
export type SimulatorActionResult = z.infer<typeof SimulatorActionResult>;
