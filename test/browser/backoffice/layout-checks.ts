import { expect, type Page } from '@playwright/test';
import { VIEWPORTS } from './fixtures.js';

/**
 * At a phone's width (375 px) the page scrolls vertically only: nothing (a wide table, a long
 * command, an absolutely placed hidden label) makes the document wider than the screen. Wide
 * tables scroll inside their own box instead. The viewport is put back.
 */
export async function expectNoSidewaysScrollOnPhone(page: Page, what: string): Promise<void> {
  const before = page.viewportSize() ?? VIEWPORTS.desktop;
  await page.setViewportSize(VIEWPORTS.phone);
  const width = await page.evaluate(async () => {
    await new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)));
    return document.documentElement.scrollWidth;
  });
  await page.setViewportSize(before);
  expect(width, `${what}: document width at ${VIEWPORTS.phone.width} px`).toBeLessThanOrEqual(VIEWPORTS.phone.width);
}
