/**
 * Fits text into its box, for operator texts of any length at any panel size.
 *
 * The element's CSS sets its font size from a scale factor:
 *   font-size: max(var(--fit-floor), calc(var(--fit-base) * var(--fit, 1)));
 * and the box it may fill (fixed height, or max-height, `overflow: hidden`). We step `--fit`
 * down until the text fits or the floor is reached (readable at distance wins over showing
 * everything); past the floor, the text is clamped to the whole lines that fit, with an
 * ellipsis (`data-clamped`): visibly intentional, never a line cut in half.
 *
 * `data-fit="lines"` wraps and clamps lines; `data-fit="line"` is one line with an ellipsis.
 */
const STEP = 0.92;
const MIN_SCALE = 0.05;

function overflows(el: HTMLElement): boolean {
  return el.scrollHeight > el.clientHeight + 1 || el.scrollWidth > el.clientWidth + 1;
}

export interface FitResult {
  scale: number;
  clamped: boolean;
  lines: number | null;
}

function reset(el: HTMLElement): void {
  el.removeAttribute('data-clamped');
  el.style.removeProperty('-webkit-line-clamp');
  el.style.removeProperty('max-height');
}

export function fitText(el: HTMLElement): FitResult {
  reset(el);
  el.style.setProperty('--fit', '1');
  let scale = 1;
  let previousSize = Number.POSITIVE_INFINITY;
  while (overflows(el) && scale > MIN_SCALE) {
    const size = parseFloat(getComputedStyle(el).fontSize);
    if (size >= previousSize) break; // at the floor: smaller scales change nothing
    previousSize = size;
    scale *= STEP;
    el.style.setProperty('--fit', scale.toFixed(3));
  }
  if (!overflows(el)) return { scale, clamped: false, lines: null };

  el.setAttribute('data-clamped', '');
  if (el.dataset.fit === 'line') return { scale, clamped: true, lines: 1 };
  const style = getComputedStyle(el);
  const lineHeight = parseFloat(style.lineHeight) || parseFloat(style.fontSize) * 1.25;
  const lines = Math.max(1, Math.floor((el.clientHeight + 0.5) / lineHeight));
  el.style.setProperty('-webkit-line-clamp', String(lines));
  // The clamp sets the ellipsis but does not hide what follows in a taller box: cut the box
  // to the whole lines, so no half line shows under the ellipsis.
  el.style.maxHeight = `${lines * lineHeight}px`;
  return { scale, clamped: true, lines };
}

/** Fits every `[data-fit]` element under `root`, in document order (headline before message). */
export function fitAll(root: HTMLElement): void {
  // Reset all first: an element's box can depend on its siblings' sizes (headline above message).
  const els = Array.from(root.querySelectorAll<HTMLElement>('[data-fit]'));
  for (const el of els) {
    reset(el);
    el.style.setProperty('--fit', '1');
  }
  for (const el of els) fitText(el);
}
