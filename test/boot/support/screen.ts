// Pixels of a screen: QEMU's screendump (binary PPM, P6) or a PNG from the host's Chromium,
// held as packed RGB. Measures what a person would: the colour that fills a region, the share
// of a region close to a colour, and a tolerant likeness of two regions (block averages, so
// antialiasing and subpixel differences between two renderers do not count).
import { readFileSync, writeFileSync } from 'node:fs';
import { PNG } from 'pngjs';

export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

export type Rgb = readonly [number, number, number];

export class Screen {
  private constructor(
    readonly width: number,
    readonly height: number,
    /** width × height × 3 bytes, rows top to bottom. */
    readonly rgb: Buffer,
  ) {}

  /** Parses a binary PPM (P6, maxval 255) as QEMU's `screendump` writes it. */
  static fromPpm(data: Buffer): Screen {
    // Header: "P6" whitespace width whitespace height whitespace maxval, one whitespace, pixels.
    // QEMU writes no comments; anything else is refused rather than guessed at.
    const header = /^P6\s+(\d+)\s+(\d+)\s+(\d+)\s/.exec(data.subarray(0, 64).toString('latin1'));
    if (!header) throw new Error('not a binary PPM (P6)');
    const width = Number(header[1]);
    const height = Number(header[2]);
    const maxval = Number(header[3]);
    if (maxval !== 255) throw new Error(`PPM maxval ${maxval}: only 255 is supported`);
    if (width < 1 || height < 1 || width > 8192 || height > 8192) throw new Error(`PPM size ${width}x${height} out of range`);
    const start = header[0].length;
    const bytes = width * height * 3;
    if (data.length < start + bytes) throw new Error(`PPM truncated: ${data.length - start} of ${bytes} pixel bytes`);
    return new Screen(width, height, Buffer.from(data.subarray(start, start + bytes)));
  }

  static fromPng(data: Buffer): Screen {
    const png = PNG.sync.read(data);
    const rgb = Buffer.alloc(png.width * png.height * 3);
    for (let i = 0, j = 0; i < png.data.length; i += 4, j += 3) {
      rgb[j] = png.data[i]!;
      rgb[j + 1] = png.data[i + 1]!;
      rgb[j + 2] = png.data[i + 2]!;
    }
    return new Screen(png.width, png.height, rgb);
  }

  static readPpm(path: string): Screen {
    return Screen.fromPpm(readFileSync(path));
  }

  toPng(): Buffer {
    const png = new PNG({ width: this.width, height: this.height });
    for (let i = 0, j = 0; j < this.rgb.length; i += 4, j += 3) {
      png.data[i] = this.rgb[j]!;
      png.data[i + 1] = this.rgb[j + 1]!;
      png.data[i + 2] = this.rgb[j + 2]!;
      png.data[i + 3] = 255;
    }
    return PNG.sync.write(png);
  }

  savePng(path: string): void {
    writeFileSync(path, this.toPng());
  }

  pixel(x: number, y: number): Rgb {
    const o = (y * this.width + x) * 3;
    return [this.rgb[o]!, this.rgb[o + 1]!, this.rgb[o + 2]!];
  }

  /** The rect clipped to the screen. */
  clip(r: Rect): Rect {
    const x = Math.max(0, Math.min(this.width, Math.round(r.x)));
    const y = Math.max(0, Math.min(this.height, Math.round(r.y)));
    const right = Math.max(x, Math.min(this.width, Math.round(r.x + r.width)));
    const bottom = Math.max(y, Math.min(this.height, Math.round(r.y + r.height)));
    return { x, y, width: right - x, height: bottom - y };
  }

  /** Share (0..1) of the region's pixels within `tolerance` (max channel difference) of `colour`. */
  shareNear(region: Rect, colour: Rgb, tolerance = 24): number {
    const r = this.clip(region);
    let near = 0;
    for (let y = r.y; y < r.y + r.height; y++) {
      for (let x = r.x; x < r.x + r.width; x++) {
        if (distance(this.pixel(x, y), colour) <= tolerance) near++;
      }
    }
    return r.width * r.height === 0 ? 0 : near / (r.width * r.height);
  }

  /** Share of the whole screen that is one colour (a blank or single-colour screen is ~1). */
  dominantShare(): { colour: Rgb; share: number } {
    const counts = new Map<number, number>();
    for (let o = 0; o < this.rgb.length; o += 3 * 7) {
      // Quantised to 5 bits per channel so near-identical shades count together.
      const key = ((this.rgb[o]! >> 3) << 10) | ((this.rgb[o + 1]! >> 3) << 5) | (this.rgb[o + 2]! >> 3);
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    let best = 0;
    let bestKey = 0;
    let total = 0;
    for (const [key, n] of counts) {
      total += n;
      if (n > best) {
        best = n;
        bestKey = key;
      }
    }
    const colour: Rgb = [((bestKey >> 10) & 31) << 3, ((bestKey >> 5) & 31) << 3, (bestKey & 31) << 3];
    return { colour, share: total ? best / total : 0 };
  }
}

/** Largest channel difference between two colours. */
export function distance(a: Rgb, b: Rgb): number {
  return Math.max(Math.abs(a[0] - b[0]), Math.abs(a[1] - b[1]), Math.abs(a[2] - b[2]));
}

export function parseHexColour(hex: string): Rgb {
  const m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(hex.trim());
  if (!m) throw new Error(`not a #rrggbb colour: ${hex}`);
  return [parseInt(m[1]!, 16), parseInt(m[2]!, 16), parseInt(m[3]!, 16)];
}

export interface Likeness {
  /** Mean over blocks of the largest channel difference of the block averages (0..255). */
  meanBlockDifference: number;
  /** Share of blocks whose averages differ by more than 48 in some channel. */
  differingBlocks: number;
}

/**
 * How alike region `ra` of `a` and region `rb` of `b` are (same size expected; the smaller
 * is used), compared block by block (`block`×`block` averages): text that reads the same in
 * two renderers differs only at glyph edges, which averaging mostly cancels; other text,
 * another size or another line break changes many blocks.
 */
export function likeness(a: Screen, ra: Rect, b: Screen, rb: Rect, block = 8): Likeness {
  const ca = a.clip(ra);
  const cb = b.clip(rb);
  const width = Math.min(ca.width, cb.width);
  const height = Math.min(ca.height, cb.height);
  let blocks = 0;
  let sum = 0;
  let differing = 0;
  for (let by = 0; by + block <= height; by += block) {
    for (let bx = 0; bx + block <= width; bx += block) {
      const ma = mean(a, ca.x + bx, ca.y + by, block);
      const mb = mean(b, cb.x + bx, cb.y + by, block);
      const d = distance(ma, mb);
      sum += d;
      if (d > 48) differing++;
      blocks++;
    }
  }
  if (blocks === 0) throw new Error('regions too small to compare');
  return { meanBlockDifference: sum / blocks, differingBlocks: differing / blocks };
}

function mean(s: Screen, x0: number, y0: number, size: number): Rgb {
  let r = 0;
  let g = 0;
  let b = 0;
  for (let y = y0; y < y0 + size; y++) {
    for (let x = x0; x < x0 + size; x++) {
      const p = s.pixel(x, y);
      r += p[0];
      g += p[1];
      b += p[2];
    }
  }
  const n = size * size;
  return [r / n, g / n, b / n];
}
