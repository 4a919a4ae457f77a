// What "the panel shows this document" means on the QEMU screen, checked as a person would:
// the level's background fills most of the screen, and the headline region reads like the
// same headline drawn by the renderer in the host's Chromium (host-reference.ts). With the
// stale badge when asked for: its box on the screen looks like the reference's badge.
import type { DisplayDocument } from '@airpanel/contract';
import type { HostReference, ReferenceDrawing } from './host-reference.js';
import { likeness, type Likeness, type Rect, type Screen } from './screen.js';

/**
 * Largest mean block difference (0..255) of a headline that reads the same. The guest's
 * Chromium and the host's draw it alike (measured: 0.0); one word changed in the headline
 * ("good" → "bad") is ~9 and ~7 % of blocks, which the looser first thresholds let through.
 */
export const SAME_TEXT_MAX_MEAN_DIFFERENCE = 3;
/** Largest share of 8×8 blocks that may differ clearly (glyph edges, subpixel placement). */
export const SAME_TEXT_MAX_DIFFERING_BLOCKS = 0.015;
/** Share of the screen the level's background covers on a content screen (text and tiles cover the rest). */
export const MIN_BACKGROUND_SHARE = 0.45;

export interface ContentMatch {
  ok: boolean;
  backgroundShare: number;
  headline: Likeness;
  /** Whether the badge's box looks more like the stale drawing than like the plain one. */
  badgeShown: boolean;
}

/**
 * The drawings that tell one look of a document on screen: plain, and with the stale badge
 * (its box is where a badge would be; its text holds a time, so it is classified by which
 * drawing it is closer to rather than matched exactly).
 */
export interface ExpectedLook {
  plain: ReferenceDrawing;
  stale: ReferenceDrawing & { badge: Rect };
  /** null: either (the document is what counts, not whether it is fresh). */
  wantBadge: boolean | null;
}

function sameText(l: Likeness): boolean {
  return l.meanBlockDifference <= SAME_TEXT_MAX_MEAN_DIFFERENCE && l.differingBlocks <= SAME_TEXT_MAX_DIFFERING_BLOCKS;
}

const FULL = (s: Screen): Rect => ({ x: 0, y: 0, width: s.width, height: s.height });

/** Compares the QEMU screen with the reference drawings of the expected look. */
export function matchContent(screen: Screen, look: ExpectedLook): ContentMatch {
  if (screen.width !== look.plain.screen.width || screen.height !== look.plain.screen.height) {
    // Firmware, boot console or a mode not yet set: not the panel's screen.
    return { ok: false, backgroundShare: 0, headline: { meanBlockDifference: 255, differingBlocks: 1 }, badgeShown: false };
  }
  const backgroundShare = screen.shareNear(FULL(screen), look.plain.background, 24);
  const headline = likeness(screen, look.plain.headline, look.plain.screen, look.plain.headline);
  const box = look.stale.badge;
  const badgeShown =
    likeness(screen, box, look.stale.screen, box).meanBlockDifference < likeness(screen, box, look.plain.screen, box).meanBlockDifference;
  const ok = backgroundShare >= MIN_BACKGROUND_SHARE && sameText(headline) && (look.wantBadge === null || badgeShown === look.wantBadge);
  return { ok, backgroundShare, headline, badgeShown };
}

export function describeMatch(m: ContentMatch): string {
  const l = (x: Likeness): string => `mean ${x.meanBlockDifference.toFixed(1)}, differing ${(x.differingBlocks * 100).toFixed(1)} %`;
  return `background ${(m.backgroundShare * 100).toFixed(0)} %, headline ${l(m.headline)}, stale badge ${m.badgeShown ? 'shown' : 'absent'}`;
}

/** Reference drawings at the guest's screen size, drawn once per look. */
export class ExpectedLooks {
  private readonly cache = new Map<string, ReferenceDrawing>();

  constructor(
    private readonly reference: HostReference,
    private readonly width = 1280,
    private readonly height = 800,
  ) {}

  /**
   * Keyed by what changes pixels in the compared regions (level, headline, colours, stale):
   * documents re-issued with a new revision look the same there.
   */
  private async draw(doc: DisplayDocument, stale: boolean): Promise<ReferenceDrawing> {
    const key = JSON.stringify([
      doc.level.id,
      doc.level.label,
      doc.content.headline,
      doc.content.background,
      doc.content.foreground,
      stale,
    ]);
    let drawing = this.cache.get(key);
    if (!drawing) {
      drawing = await this.reference.draw(doc, this.width, this.height, stale ? new Date(Date.now() - 60_000).toISOString() : null);
      this.cache.set(key, drawing);
    }
    return drawing;
  }

  async of(doc: DisplayDocument, wantBadge: boolean | null = false): Promise<ExpectedLook> {
    const plain = await this.draw(doc, false);
    const stale = await this.draw(doc, true);
    if (!stale.badge) throw new Error('the stale reference drawing has no badge');
    return { plain, stale: { ...stale, badge: stale.badge }, wantBadge };
  }
}
