/**
 * Shared benchmark output: figures printed to stdout, plus results/<name>.json and a chart
 * (results/<name>.svg, screenshotted to results/<name>.png with headless Chromium).
 * `results/` is gitignored. Every report carries the machine and its load average, since
 * the figures only mean something next to how busy the machine was.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL, fileURLToPath } from 'node:url';
import { chromium } from '@playwright/test';

export const RESULTS_DIR = resolve(fileURLToPath(new URL('../../../results', import.meta.url)));
export const CHROMIUM_PATH = process.env.AIRPANEL_CHROMIUM ?? '/usr/bin/chromium';
export const CHROMIUM_ARGS = ['--no-sandbox', '--disable-dev-shm-usage'];

export interface MachineInfo {
  cpus: number;
  cpuModel: string;
  node: string;
  platform: string;
  /** os.loadavg(): 1, 5 and 15 minutes. */
  loadAverage: [number, number, number];
  at: string;
}

export function machineInfo(): MachineInfo {
  const cpus = os.cpus();
  const [l1, l5, l15] = os.loadavg();
  return {
    cpus: cpus.length,
    cpuModel: cpus[0]?.model ?? 'unknown',
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
    loadAverage: [round(l1!, 2), round(l5!, 2), round(l15!, 2)],
    at: new Date().toISOString(),
  };
}

/** "load average 3.10 2.95 2.80 (2 cores)" */
export function loadLine(m: MachineInfo = machineInfo()): string {
  return `load average ${m.loadAverage.map((l) => l.toFixed(2)).join(' ')} (${m.cpus} cores)`;
}

export function round(n: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

export interface Bar {
  label: string;
  value: number;
  /** Shown after the bar instead of the value (e.g. "12.3 ms ± 1.0"). */
  text?: string;
}

export interface BarGroup {
  title: string;
  unit: string;
  bars: Bar[];
}

export interface LineSeries {
  label: string;
  points: [number, number][];
}

export interface LinePanel {
  title: string;
  xLabel: string;
  yLabel: string;
  series: LineSeries[];
}

export type ChartPanel = ({ kind: 'bars' } & BarGroup) | ({ kind: 'lines' } & LinePanel);

const COLOURS = ['#2563eb', '#dc2626', '#16a34a', '#9333ea', '#ea580c', '#0891b2'];
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function niceMax(v: number): number {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function fmt(v: number): string {
  if (Math.abs(v) >= 1000) return v.toFixed(0);
  if (Math.abs(v) >= 10) return v.toFixed(1);
  return v.toFixed(2);
}

function barsSvg(g: BarGroup, y0: number, width: number): { svg: string; height: number } {
  const rowH = 30;
  const labelW = 320;
  const plotW = width - labelW - 190;
  const max = niceMax(Math.max(...g.bars.map((b) => b.value)));
  let svg = `<text x="20" y="${y0 + 22}" font-size="17" font-weight="bold">${esc(g.title)}</text>`;
  g.bars.forEach((b, i) => {
    const y = y0 + 40 + i * rowH;
    const w = Math.max(1, (b.value / max) * plotW);
    svg += `<text x="${labelW - 10}" y="${y + 17}" font-size="14" text-anchor="end">${esc(b.label)}</text>`;
    svg += `<rect x="${labelW}" y="${y + 3}" width="${w.toFixed(1)}" height="${rowH - 8}" fill="${COLOURS[i % COLOURS.length]}"/>`;
    svg += `<text x="${labelW + w + 8}" y="${y + 17}" font-size="13">${esc(b.text ?? `${fmt(b.value)} ${g.unit}`)}</text>`;
  });
  return { svg, height: 50 + g.bars.length * rowH + 10 };
}

function linesSvg(p: LinePanel, y0: number, width: number): { svg: string; height: number } {
  const h = 260;
  const left = 80;
  const plotW = width - left - 200;
  const top = y0 + 40;
  const plotH = h - 80;
  const all = p.series.flatMap((s) => s.points);
  const xMax = Math.max(...all.map((q) => q[0]), 1); // the data's own range: rounds and counts need no padding
  const yMax = niceMax(Math.max(...all.map((q) => q[1]), 1));
  const X = (x: number) => left + (x / xMax) * plotW;
  const Y = (y: number) => top + plotH - (y / yMax) * plotH;
  let svg = `<text x="20" y="${y0 + 22}" font-size="17" font-weight="bold">${esc(p.title)}</text>`;
  svg += `<line x1="${left}" y1="${top + plotH}" x2="${left + plotW}" y2="${top + plotH}" stroke="#444"/>`;
  svg += `<line x1="${left}" y1="${top}" x2="${left}" y2="${top + plotH}" stroke="#444"/>`;
  for (let i = 0; i <= 4; i++) {
    const yv = (yMax * i) / 4;
    svg += `<text x="${left - 6}" y="${Y(yv) + 4}" font-size="11" text-anchor="end">${fmt(yv)}</text>`;
    svg += `<line x1="${left}" y1="${Y(yv)}" x2="${left + plotW}" y2="${Y(yv)}" stroke="#ddd"/>`;
    const xv = (xMax * i) / 4;
    svg += `<text x="${X(xv)}" y="${top + plotH + 16}" font-size="11" text-anchor="middle">${fmt(xv)}</text>`;
  }
  svg += `<text x="${left + plotW / 2}" y="${top + plotH + 34}" font-size="12" text-anchor="middle">${esc(p.xLabel)}</text>`;
  svg += `<text x="16" y="${top + plotH / 2}" font-size="12" transform="rotate(-90 16 ${top + plotH / 2})" text-anchor="middle">${esc(p.yLabel)}</text>`;
  p.series.forEach((s, i) => {
    const c = COLOURS[i % COLOURS.length];
    const d = s.points.map((q, j) => `${j ? 'L' : 'M'}${X(q[0]).toFixed(1)},${Y(q[1]).toFixed(1)}`).join(' ');
    svg += `<path d="${d}" fill="none" stroke="${c}" stroke-width="2"/>`;
    for (const q of s.points) svg += `<circle cx="${X(q[0]).toFixed(1)}" cy="${Y(q[1]).toFixed(1)}" r="2.5" fill="${c}"/>`;
    svg += `<rect x="${left + plotW + 16}" y="${top + i * 20}" width="12" height="12" fill="${c}"/>`;
    svg += `<text x="${left + plotW + 34}" y="${top + i * 20 + 11}" font-size="12">${esc(s.label)}</text>`;
  });
  return { svg, height: h };
}

/** An SVG with one title, a subtitle (machine, load) and stacked panels. */
export function chartSvg(title: string, subtitle: string, panels: ChartPanel[], width = 960): string {
  let y = 70;
  let body = '';
  for (const p of panels) {
    const r = p.kind === 'bars' ? barsSvg(p, y, width) : linesSvg(p, y, width);
    body += r.svg;
    y += r.height + 10;
  }
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${y}" viewBox="0 0 ${width} ${y}" font-family="sans-serif">` +
    `<rect width="100%" height="100%" fill="#fff"/>` +
    `<text x="20" y="30" font-size="20" font-weight="bold">${esc(title)}</text>` +
    `<text x="20" y="52" font-size="13" fill="#555">${esc(subtitle)}</text>` +
    body +
    '</svg>'
  );
}

/** Renders an SVG file to PNG with headless Chromium. */
export async function svgToPng(svgFile: string, pngFile: string): Promise<void> {
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, headless: true });
  try {
    const page = await browser.newPage();
    await page.goto(pathToFileURL(svgFile).href);
    const svg = page.locator('svg');
    await svg.screenshot({ path: pngFile });
  } finally {
    await browser.close();
  }
}

/**
 * Writes results/<name>.json (data + machine) and, with panels, results/<name>.svg and .png.
 * Returns the paths written. A failing PNG render is reported, not thrown (the JSON is what counts).
 */
export async function writeReport(
  name: string,
  data: unknown,
  chart?: { title: string; panels: ChartPanel[] },
  machine = machineInfo(),
): Promise<string[]> {
  await mkdir(RESULTS_DIR, { recursive: true });
  const written: string[] = [];
  const jsonFile = join(RESULTS_DIR, `${name}.json`);
  await writeFile(jsonFile, `${JSON.stringify({ benchmark: name, machine, ...(data as object) }, null, 2)}\n`);
  written.push(jsonFile);
  if (chart) {
    const svgFile = join(RESULTS_DIR, `${name}.svg`);
    await writeFile(
      svgFile,
      chartSvg(chart.title, `${machine.cpuModel} · ${loadLine(machine)} · node ${machine.node} · ${machine.at}`, chart.panels),
    );
    written.push(svgFile);
    const pngFile = join(RESULTS_DIR, `${name}.png`);
    try {
      await svgToPng(svgFile, pngFile);
      written.push(pngFile);
    } catch (err) {
      console.warn(`chart PNG not rendered (${String(err)}); the SVG is in ${svgFile}`);
    }
  }
  return written;
}
