import Store from 'electron-store';
import { z } from 'zod';
import { PanelSizeId } from '@airpanel/contract/internal';

/**
 * The Electron simulator's window settings (electron-store, a JSON file in the app's user
 * data dir or the given dir): the chosen panel size, where each window was. Read values are
 * validated; a damaged file falls back to defaults instead of breaking the simulator.
 */
const Position = z.object({ x: z.number().int(), y: z.number().int() });
const Bounds = Position.extend({ width: z.number().int().min(200).max(10_000), height: z.number().int().min(200).max(10_000) });
export const SimulatorWindowSettings = z.object({
  size: PanelSizeId.default('landscape'),
  panelPosition: Position.nullable().default(null),
  controlBounds: Bounds.nullable().default(null),
});
export type SimulatorWindowSettings = z.infer<typeof SimulatorWindowSettings>;
export type WindowBounds = z.infer<typeof Bounds>;

export class SimulatorSettings {
  private readonly store: Store<{ simulator: unknown }>;

  constructor(cwd?: string) {
    this.store = new Store<{ simulator: unknown }>({ name: 'simulator-windows', ...(cwd ? { cwd } : {}), clearInvalidConfig: true });
  }

  read(): SimulatorWindowSettings {
    const r = SimulatorWindowSettings.safeParse(this.store.get('simulator') ?? {});
    return r.success ? r.data : SimulatorWindowSettings.parse({});
  }

  update(patch: Partial<SimulatorWindowSettings>): void {
    this.store.set('simulator', SimulatorWindowSettings.parse({ ...this.read(), ...patch }));
  }
}
