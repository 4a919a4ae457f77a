import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PacketSizeLimit } from './packet-size-limit.js';

/** An MQTT fixed header (type byte + remaining-length varint) followed by `length` body bytes. */
function packet(length: number): Buffer {
  const varint: number[] = [];
  let rest = length;
  do {
    let byte = rest % 128;
    rest = Math.floor(rest / 128);
    if (rest > 0) byte |= 0x80;
    varint.push(byte);
  } while (rest > 0);
  return Buffer.concat([Buffer.from([0x30, ...varint]), Buffer.alloc(length, 0x61)]);
}

function feedInChunks(limit: PacketSizeLimit, stream: Buffer, cuts: number[]): string | null {
  const points = [...new Set(cuts.map((c) => c % (stream.length + 1)))].sort((a, b) => a - b);
  let start = 0;
  for (const point of [...points, stream.length]) {
    const verdict = limit.feed(stream.subarray(start, point));
    if (verdict !== null) return verdict;
    start = point;
  }
  return null;
}

describe('PacketSizeLimit', () => {
  it('follows packet boundaries however the stream is cut, and stops at the first packet over the limit', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 400 }), { minLength: 1, maxLength: 8 }),
        fc.array(fc.nat(), { maxLength: 10 }),
        (lengths, cuts) => {
          const verdict = feedInChunks(new PacketSizeLimit(300), Buffer.concat(lengths.map(packet)), cuts);
          const firstTooLarge = lengths.find((l) => l > 300);
          if (firstTooLarge === undefined) expect(verdict).toBeNull();
          else expect(verdict).toBe(`packet of ${firstTooLarge} bytes exceeds the limit of 300`);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('refuses a huge announced length after the header alone, and a malformed length', () => {
    expect(new PacketSizeLimit(1024).feed(Buffer.from([0x10, 0xff, 0xff, 0xff, 0x7f]))).toMatch(/268435455 bytes exceeds/);
    expect(new PacketSizeLimit(1024).feed(Buffer.from([0x10, 0xff, 0xff, 0xff, 0xff, 0x01]))).toMatch(/malformed/);
  });
});
