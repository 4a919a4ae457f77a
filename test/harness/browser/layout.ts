import { expect, type Page } from '@playwright/test';

export interface LayoutReport {
  viewport: [number, number];
  scroll: [number, number];
  /** Elements whose box leaves the viewport. */
  outside: string[];
  /** Text cut without intent: overflowing and not clamped/ellipsized by the fitter. */
  cut: string[];
  /** Clamped blocks whose whole lines do not fit their box. */
  badClamps: string[];
  /** Visible text smaller than the floor for reading at a distance. */
  tiny: string[];
  clamped: string[];
}

/** Measures the page as a passer-by would see it (in the page, with the real layout). */
export function measureLayout(page: Page, minFontPx = 15): Promise<LayoutReport> {
  return page.evaluate((minFont) => {
    const vw = window.innerWidth;
    const vh = window.innerHeight;
    const name = (el: Element) =>
      `${el.tagName.toLowerCase()}${el.className && typeof el.className === 'string' ? `.${el.className.trim().split(/\s+/).join('.')}` : ''}`;
    const report = {
      viewport: [vw, vh] as [number, number],
      scroll: [document.documentElement.scrollWidth, document.documentElement.scrollHeight] as [number, number],
      outside: [] as string[],
      cut: [] as string[],
      badClamps: [] as string[],
      tiny: [] as string[],
      clamped: [] as string[],
    };
    for (const el of Array.from(document.body.querySelectorAll('*'))) {
      const r = el.getBoundingClientRect();
      if (r.width === 0 && r.height === 0) continue;
      if (r.left < -0.5 || r.top < -0.5 || r.right > vw + 0.5 || r.bottom > vh + 0.5) {
        report.outside.push(`${name(el)} ${Math.round(r.left)},${Math.round(r.top)} ${Math.round(r.right)}x${Math.round(r.bottom)}`);
      }
      if (!(el instanceof HTMLElement)) continue;
      const hasText = Array.from(el.childNodes).some((n) => n.nodeType === Node.TEXT_NODE && (n.textContent ?? '').trim() !== '');
      if (!hasText) continue;
      const style = getComputedStyle(el);
      if (parseFloat(style.fontSize) < minFont) report.tiny.push(`${name(el)} ${style.fontSize}`);
      if (style.display === 'inline') continue;
      if (el.hasAttribute('data-clamped')) {
        report.clamped.push(name(el));
        if (el.dataset.fit === 'lines') {
          const lines = Number(style.getPropertyValue('-webkit-line-clamp'));
          const lineHeight = parseFloat(style.lineHeight);
          // Whole lines only: all clamped lines fit, and no part of the next one shows.
          if (!(lines >= 1) || lines * lineHeight > el.clientHeight + 1 || el.clientHeight > lines * lineHeight + 1) {
            report.badClamps.push(`${name(el)} ${lines} lines × ${lineHeight}px in ${el.clientHeight}px`);
          }
        }
        continue;
      }
      if (el.scrollWidth > el.clientWidth + 1 || el.scrollHeight > el.clientHeight + 1) {
        report.cut.push(`${name(el)} scroll ${el.scrollWidth}x${el.scrollHeight} client ${el.clientWidth}x${el.clientHeight}`);
      }
    }
    return report;
  }, minFontPx);
}

/** Nothing leaves the screen, nothing scrolls, no text is cut unintentionally, none is tiny. */
export async function expectLayoutIntact(page: Page): Promise<LayoutReport> {
  const report = await measureLayout(page);
  expect(report.outside, 'elements outside the viewport').toEqual([]);
  expect(report.scroll, 'document scroll size').toEqual(report.viewport);
  expect(report.cut, 'text cut without a clamp').toEqual([]);
  expect(report.badClamps, 'clamps cutting a line').toEqual([]);
  expect(report.tiny, 'text too small to read at a distance').toEqual([]);
  return report;
}
