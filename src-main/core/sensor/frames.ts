/**
 * Frame decoders of the UART particulate sensors. Both stream a fixed-length frame about once
 * a second in their default (active) mode; the decoders take whatever chunks the serial port
 * delivers (a frame may be split across reads, or buried in noise), find frames by their
 * header, and check length, trailer, checksum and plausible ranges before a value leaves them.
 *
 * Nova Fitness SDS011 (laser dust sensor datasheet V1.3, "UART communication protocol"):
 *   10 bytes: AA C0 | PM2.5 lo hi | PM10 lo hi | ID lo hi | checksum | AB
 *   checksum = low 8 bits of the sum of bytes 2..7; value = (hi·256 + lo) / 10 µg/m³;
 *   range 0.0…999.9 µg/m³.
 * Plantower PMS5003 / PMS7003 (datasheets, "Transport protocol - Active Mode"):
 *   32 bytes: 42 4D | frame length = 28 (2 bytes, big-endian) | 13 data words | checksum
 *   checksum = 16-bit sum of every byte before it. Words 4…6 are PM1.0 / PM2.5 / PM10 "under
 *   atmospheric environment" (µg/m³), the ones to compare with ambient limits (words 1…3 are
 *   the factory "CF=1" values). Maximum range 1000 µg/m³.
 */

export interface ParticulateSample {
  pm25: number;
  pm10: number;
}

export type DecodeEvent =
  | { kind: 'sample'; sample: ParticulateSample }
  /** A well-framed frame whose checksum does not match its bytes. */
  | { kind: 'checksum-error' }
  /** A frame with a valid checksum but values no real air (or sensor) produces. */
  | { kind: 'implausible'; reason: string }
  /** Bytes skipped while looking for a header (noise, a frame cut short, another protocol). */
  | { kind: 'garbage'; bytes: number };

export interface FrameDecoder {
  /** Feeds one chunk from the port; returns what it completed (in order). */
  push(chunk: Uint8Array): DecodeEvent[];
}

/** More than a few frames' worth of unparsed bytes means no frame is coming: drop them. */
const MAX_PENDING_BYTES = 256;

interface FrameFormat {
  length: number;
  header: readonly number[];
  /** Checks a candidate frame that starts with the header and has `length` bytes. */
  check(frame: Uint8Array): DecodeEvent;
}

class FixedFrameDecoder implements FrameDecoder {
  private pending: Uint8Array = new Uint8Array(0);

  constructor(private readonly format: FrameFormat) {}

  push(chunk: Uint8Array): DecodeEvent[] {
    const events: DecodeEvent[] = [];
    let buf = concat(this.pending, chunk);
    let skipped = 0;
    const flushGarbage = () => {
      if (skipped > 0) events.push({ kind: 'garbage', bytes: skipped });
      skipped = 0;
    };
    const { header, length } = this.format;
    let i = 0;
    while (i < buf.length) {
      if (!headerAt(buf, i, header)) {
        i++;
        skipped++;
        continue;
      }
      if (buf.length - i < length) break; // wait for the rest of this frame
      const frame = buf.subarray(i, i + length);
      const verdict = this.format.check(frame);
      if (verdict.kind === 'checksum-error' || verdict.kind === 'garbage') {
        // A header inside noise, or a frame cut short and followed by the next one: skip the
        // header byte only, so a real frame starting inside this candidate is still found.
        flushGarbage();
        events.push(verdict);
        i++;
        continue;
      }
      flushGarbage();
      events.push(verdict);
      i += length;
    }
    // A partial header at the very end may be the start of the next frame: keep it.
    buf = buf.subarray(i);
    if (buf.length > MAX_PENDING_BYTES) {
      skipped += buf.length;
      buf = new Uint8Array(0);
    }
    flushGarbage();
    this.pending = Uint8Array.from(buf);
    return events;
  }
}

function headerAt(buf: Uint8Array, at: number, header: readonly number[]): boolean {
  for (let k = 0; k < header.length; k++) {
    if (at + k >= buf.length) return true; // could still become the header
    if (buf[at + k] !== header[k]) return false;
  }
  return true;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b;
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

function plausible(sample: ParticulateSample, max: number): DecodeEvent {
  if (sample.pm25 > max || sample.pm10 > max) return { kind: 'implausible', reason: `value above the sensor's range (${max} µg/m³)` };
  // PM2.5 is a fraction of PM10; a small tolerance for the sensors' own rounding.
  if (sample.pm25 > sample.pm10 + 1) return { kind: 'implausible', reason: `PM2.5 ${sample.pm25} above PM10 ${sample.pm10}` };
  return { kind: 'sample', sample };
}

export const SDS011_MAX = 999.9;
export const PMS_MAX = 1000;

const SDS011_FORMAT: FrameFormat = {
  length: 10,
  header: [0xaa, 0xc0],
  check(f) {
    if (f[9] !== 0xab) return { kind: 'garbage', bytes: 1 };
    let sum = 0;
    for (let k = 2; k <= 7; k++) sum += f[k]!;
    if ((sum & 0xff) !== f[8]) return { kind: 'checksum-error' };
    const pm25 = (f[2]! | (f[3]! << 8)) / 10;
    const pm10 = (f[4]! | (f[5]! << 8)) / 10;
    return plausible({ pm25, pm10 }, SDS011_MAX);
  },
};

const PMS_FORMAT: FrameFormat = {
  length: 32,
  header: [0x42, 0x4d],
  check(f) {
    const declared = (f[2]! << 8) | f[3]!;
    if (declared !== 28) return { kind: 'garbage', bytes: 1 };
    let sum = 0;
    for (let k = 0; k < 30; k++) sum += f[k]!;
    if ((sum & 0xffff) !== ((f[30]! << 8) | f[31]!)) return { kind: 'checksum-error' };
    const word = (n: number) => (f[2 + 2 * n]! << 8) | f[3 + 2 * n]!;
    return plausible({ pm25: word(5), pm10: word(6) }, PMS_MAX);
  },
};

export function createSds011Decoder(): FrameDecoder {
  return new FixedFrameDecoder(SDS011_FORMAT);
}

/** PMS5003 and PMS7003 share the 32-byte active-mode frame. */
export function createPmsDecoder(): FrameDecoder {
  return new FixedFrameDecoder(PMS_FORMAT);
}

/** An SDS011 frame as the sensor sends it (tests, the simulator's virtual sensor). */
export function encodeSds011Frame(sample: ParticulateSample, deviceId = 0x1234): Uint8Array {
  const p25 = Math.round(sample.pm25 * 10);
  const p10 = Math.round(sample.pm10 * 10);
  const f = new Uint8Array([0xaa, 0xc0, p25 & 0xff, p25 >> 8, p10 & 0xff, p10 >> 8, deviceId & 0xff, deviceId >> 8, 0, 0xab]);
  let sum = 0;
  for (let k = 2; k <= 7; k++) sum += f[k]!;
  f[8] = sum & 0xff;
  return f;
}

/** A PMS5003/7003 active-mode frame (tests, the simulator's virtual sensor). */
export function encodePmsFrame(sample: ParticulateSample): Uint8Array {
  const words = [sample.pm25, sample.pm25, sample.pm10, Math.round(sample.pm25 * 0.7), sample.pm25, sample.pm10, 900, 300, 60, 10, 2, 1, 0];
  const f = new Uint8Array(32);
  f[0] = 0x42;
  f[1] = 0x4d;
  f[2] = 0;
  f[3] = 28;
  words.forEach((w, n) => {
    const v = Math.round(w);
    f[4 + 2 * n] = (v >> 8) & 0xff;
    f[5 + 2 * n] = v & 0xff;
  });
  let sum = 0;
  for (let k = 0; k < 30; k++) sum += f[k]!;
  f[30] = (sum >> 8) & 0xff;
  f[31] = sum & 0xff;
  return f;
}
