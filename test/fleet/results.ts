/**
 * Benchmark output: a JSON file and a chart image in results/ (gitignored). The chart is an
 * SVG drawn here and turned into a PNG by headless Chromium (Playwright screenshot).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, loadavg, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from '@playwright/test';

export const RESULTS_DIR = resolve(fileURLToPath(new URL('../../results', import.meta.url)));

export interface MachineInfo {
  cpus: number;
  cpuModel: string;
  memoryGiB: number;
  node: string;
  /** 1, 5, 15 minute load averages when the figures were taken. */
  loadAverage: number[];
}

export function machineInfo(): MachineInfo {
  return {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    loadAverage: loadavg().map((l) => Math.round(l * 100) / 100),
  };
}

export const loadText = (): string =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

export interface BarGroup {
  label: string;
  bars: { label: string; value: number }[];
}

export interface BarChart {
  title: string;
  subtitle?: string;
  unit: string;
  groups: BarGroup[];
  /** Horizontal reference lines (targets). */
  lines?: { label: string; value: number }[];
}

const COLOURS = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7'];
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function niceMax(v: number): number {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

/** A grouped bar chart as SVG text. */
export function barChartSvg(chart: BarChart, width = 960, height = 540): string {
  const left = 80;
  const right = 20;
  const top = 70;
  const bottom = 90;
  const plotW = width - left - right;
  const plotH = height - top - bottom;
  const values = chart.groups.flatMap((g) => g.bars.map((b) => b.value)).concat((chart.lines ?? []).map((l) => l.value));
  const max = niceMax(Math.max(...values.filter(Number.isFinite), 0) * 1.05);
  const y = (v: number) => top + plotH - (Math.max(0, v) / max) * plotH;
  const parts: string[] = [];
  parts.push(`<rect width="${width}" height="${height}" fill="white"/>`);
  parts.push(`<text x="${width / 2}" y="28" text-anchor="middle" font-size="20" font-weight="bold">${esc(chart.title)}</text>`);
  if (chart.subtitle)
    parts.push(`<text x="${width / 2}" y="50" text-anchor="middle" font-size="13" fill="#555">${esc(chart.subtitle)}</text>`);
  for (let i = 0; i <= 5; i++) {
    const v = (max / 5) * i;
    parts.push(`<line x1="${left}" x2="${width - right}" y1="${y(v)}" y2="${y(v)}" stroke="#ddd"/>`);
    parts.push(`<text x="${left - 8}" y="${y(v) + 4}" text-anchor="end" font-size="12">${+v.toFixed(2)}</text>`);
  }
  parts.push(
    `<text x="18" y="${top + plotH / 2}" font-size="13" transform="rotate(-90 18 ${top + plotH / 2})" text-anchor="middle">${esc(chart.unit)}</text>`,
  );
  const groupW = plotW / Math.max(1, chart.groups.length);
  const seriesLabels = [...new Set(chart.groups.flatMap((g) => g.bars.map((b) => b.label)))];
  chart.groups.forEach((g, gi) => {
    const barW = (groupW * 0.8) / Math.max(1, g.bars.length);
    g.bars.forEach((b, bi) => {
      const x = left + gi * groupW + groupW * 0.1 + bi * barW;
      const colour = COLOURS[seriesLabels.indexOf(b.label) % COLOURS.length];
      const h = Number.isFinite(b.value) ? top + plotH - y(b.value) : 0;
      parts.push(`<rect x="${x + 1}" y="${top + plotH - h}" width="${barW - 2}" height="${h}" fill="${colour}"/>`);
      if (Number.isFinite(b.value))
        parts.push(
          `<text x="${x + barW / 2}" y="${top + plotH - h - 4}" text-anchor="middle" font-size="10">${+b.value.toPrecision(3)}</text>`,
        );
    });
    parts.push(
      `<text x="${left + gi * groupW + groupW / 2}" y="${top + plotH + 20}" text-anchor="middle" font-size="12">${esc(g.label)}</text>`,
    );
  });
  for (const line of chart.lines ?? []) {
    parts.push(
      `<line x1="${left}" x2="${width - right}" y1="${y(line.value)}" y2="${y(line.value)}" stroke="#c00" stroke-dasharray="6 4"/>`,
    );
    parts.push(
      `<text x="${width - right - 4}" y="${y(line.value) - 5}" text-anchor="end" font-size="12" fill="#c00">${esc(line.label)}</text>`,
    );
  }
  let legendX = left;
  seriesLabels.forEach((label, i) => {
    const x = legendX;
    legendX += 34 + label.length * 7;
    parts.push(`<rect x="${x}" y="${height - 30}" width="14" height="14" fill="${COLOURS[i % COLOURS.length]}"/>`);
    parts.push(`<text x="${x + 20}" y="${height - 18}" font-size="12">${esc(label)}</text>`);
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif">${parts.join('')}</svg>`;
}

/** SVG → PNG with Debian's Chromium. */
export async function svgToPng(svg: string, file: string): Promise<void> {
  const browser = await chromium.launch({
    executablePath: process.env['AIRPANEL_CHROMIUM'] ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu'],
  });
  try {
    const m = /width="(\d+)" height="(\d+)"/.exec(svg);
    const page = await browser.newPage({ viewport: { width: Number(m?.[1] ?? 960), height: Number(m?.[2] ?? 540) } });
    await page.setContent(`<!doctype html><html><body style="margin:0">${svg}</body></html>`);
    await page.screenshot({ path: file, clip: { x: 0, y: 0, width: Number(m?.[1] ?? 960), height: Number(m?.[2] ?? 540) } });
  } finally {
    await browser.close();
  }
}

/** Writes results/<name>.json, results/<name>.svg and results/<name>.png; returns the paths. */
export async function writeResults(name: string, data: unknown, chart: BarChart): Promise<{ json: string; png: string | null }> {
  await mkdir(RESULTS_DIR, { recursive: true });
  const json = join(RESULTS_DIR, `${name}.json`);
  await writeFile(json, `${JSON.stringify(data, null, 2)}\n`);
  const svg = barChartSvg(chart);
  await writeFile(join(RESULTS_DIR, `${name}.svg`), svg);
  const png = join(RESULTS_DIR, `${name}.png`);
  try {
    await svgToPng(svg, png);
    return { json, png };
  } catch (error) {
    process.stderr.write(`chart PNG not written (${(error as Error).message}); the SVG is in results/\n`);
    return { json, png: null };
  }
}
