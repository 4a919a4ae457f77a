// Figures a boot test measures (power-on → pixels, change → pixels…): printed as they are
// taken and written to results/boot-<suite>.json for BENCHMARKS.md. They are measurements
// under TCG on a shared machine, never pass/fail targets.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO } from './panel-image.js';

export interface BootFigure {
  name: string;
  seconds: number;
  note?: string;
}

export class BootFigures {
  readonly figures: BootFigure[] = [];

  constructor(private readonly suite: string) {}

  add(name: string, seconds: number, note?: string): void {
    const figure: BootFigure = { name, seconds: Math.round(seconds * 10) / 10, ...(note ? { note } : {}) };
    this.figures.push(figure);
    console.log(`[boot figure] ${name}: ${figure.seconds} s${note ? ` (${note})` : ''}`);
  }

  save(): string {
    const dir = join(REPO, 'results');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `boot-${this.suite}.json`);
    writeFileSync(
      file,
      `${JSON.stringify({ suite: this.suite, at: new Date().toISOString(), accel: 'tcg', figures: this.figures }, null, 2)}\n`,
    );
    return file;
  }
}

/**
 * What the backend says about a panel, sampled every `everyMs` in the background: the test
 * reads the sequence afterwards (e.g. offline then online again around a restart).
 */
export interface PanelSample {
  at: number;
  online: boolean;
  state: string | null;
  displayedRevision: number | null;
  lastError: string | null;
}

export class PanelSampler {
  readonly samples: PanelSample[] = [];
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly read: () => Promise<Omit<PanelSample, 'at'>>,
    private readonly everyMs = 1_000,
    private readonly max = 20_000,
  ) {}

  start(): this {
    const tick = async (): Promise<void> => {
      try {
        const s = await this.read();
        if (this.samples.length < this.max) this.samples.push({ at: performance.now(), ...s });
      } catch {
        // The backend may be stopped on purpose: no sample then.
      }
      if (this.timer) this.timer = setTimeout(() => void tick(), this.everyMs);
    };
    this.timer = setTimeout(() => void tick(), 0);
    return this;
  }

  since(at: number): PanelSample[] {
    return this.samples.filter((s) => s.at >= at);
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}

/** The distinct (online, state, displayed revision) runs of a sample sequence, for a log line. */
export function summarise(samples: PanelSample[]): string {
  const runs: string[] = [];
  for (const s of samples) {
    const text = `${s.online ? 'online' : 'offline'}/${s.state ?? '-'}/r${s.displayedRevision ?? '-'}`;
    if (runs.at(-1) !== text) runs.push(text);
  }
  return runs.join(' → ') || 'no samples';
}
