import { HEADLINE_MAX, ICON_NAMES, MESSAGE_MAX, POLLUTANTS, type IconName, type Pollutant } from '@airpanel/contract';
import { PanelView } from '@airpanel/contract/internal';

/**
 * The renderer draws what the main process decided; the hosts validate every view. Still, a
 * misbehaving host must not break the screen: a view that fails the contract is reported and
 * drawn in a defensive form (texts cut to the contract's caps with an ellipsis, unknown icons
 * and colours replaced), or ignored when nothing sensible can be drawn from it (the previous
 * view stays on screen).
 */
export interface Accepted {
  view: PanelView | null;
  /** Why the view did not match the contract, for `reportError`. */
  problem: string | null;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown, fallback: string): string => (typeof v === 'string' ? v : fallback);
const cap = (s: string, max: number): string => (s.length > max ? `${s.slice(0, max - 1)}…` : s);
const hex = (v: unknown, fallback: string): string => (typeof v === 'string' && /^#[0-9a-fA-F]{6}$/.test(v) ? v : fallback);
const int = (v: unknown, fallback: number): number => (typeof v === 'number' && Number.isInteger(v) && v >= 0 ? v : fallback);
const stripControls = (s: string): string => s.replace(/[\u0000-\u0009\u000b-\u001f\u007f]/g, '');

export function acceptView(raw: unknown): Accepted {
  const parsed = PanelView.safeParse(raw);
  if (parsed.success) return { view: parsed.data, problem: null };
  const first = parsed.error.issues[0];
  const problem = `view does not match the contract (${first ? `${first.path.join('.') || '(root)'}: ${first.message}` : 'invalid'})`;
  return { view: lenient(raw), problem };
}

function lenient(raw: unknown): PanelView | null {
  if (!isObj(raw)) return null;
  if (raw.kind === 'booting') return { kind: 'booting' };
  if (raw.kind === 'maintenance') {
    const code = str(raw.code, 'ERR-0')
      .toUpperCase()
      .replace(/[^A-Z0-9-]/g, '')
      .slice(0, 9);
    return { kind: 'maintenance', code: code || 'ERR-0' };
  }
  if (raw.kind !== 'content' || !isObj(raw.document)) return null;
  const doc = raw.document;
  const content = isObj(doc.content) ? doc.content : {};
  const level = isObj(doc.level) ? doc.level : {};
  const icon: IconName = (ICON_NAMES as readonly string[]).includes(str(content.icon, '')) ? (content.icon as IconName) : 'info';
  const readingsRaw = isObj(doc.readings) ? doc.readings : null;
  let readings = null;
  if (readingsRaw && isObj(readingsRaw.values)) {
    const values: Partial<Record<Pollutant, number>> = {};
    for (const p of POLLUTANTS) {
      const v = readingsRaw.values[p];
      if (typeof v === 'number' && Number.isFinite(v) && v >= 0 && v <= 10_000) values[p] = v;
    }
    const dominant = (POLLUTANTS as readonly unknown[]).includes(readingsRaw.dominant) ? (readingsRaw.dominant as Pollutant) : null;
    if (Object.keys(values).length > 0) {
      readings = { measuredAt: str(readingsRaw.measuredAt, ''), source: cap(str(readingsRaw.source, ''), 200), values, dominant };
    }
  }
  const stale = isObj(raw.stale) && typeof raw.stale.since === 'string' ? { since: raw.stale.since } : null;
  const view = {
    kind: 'content' as const,
    stale,
    document: {
      ...(doc as object),
      revision: int(doc.revision, 0),
      locale: cap(str(doc.locale, 'en'), 35),
      level: {
        id: str(level.id, 'unknown'),
        label: cap(stripControls(str(level.label, '')), 60),
        index: int(level.index, 0),
        of: Math.min(8, Math.max(2, int(level.of, 3))),
      },
      readings,
      content: {
        headline: cap(stripControls(str(content.headline, '')), HEADLINE_MAX),
        message: cap(stripControls(str(content.message, '')), MESSAGE_MAX),
        background: hex(content.background, '#20262d'),
        foreground: hex(content.foreground, '#ffffff'),
        icon,
      },
    },
  };
  // Drawn defensively, not re-validated: it failed the contract once already.
  return view as PanelView;
}
