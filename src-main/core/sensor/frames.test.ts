import { describe, expect, it } from 'vitest';
import { createPmsDecoder, createSds011Decoder, encodePmsFrame, encodeSds011Frame, type DecodeEvent } from './frames.js';

const samples = (events: DecodeEvent[]) => events.filter((e) => e.kind === 'sample').map((e) => (e.kind === 'sample' ? e.sample : null));

describe('SDS011 frames', () => {
  it('decodes a frame as the datasheet gives it (PM2.5 = 0x0145/10, PM10 = 0x0290/10)', () => {
    // AA C0 | 45 01 | 90 02 | 12 34 | sum | AB
    const bytes = [0xaa, 0xc0, 0x45, 0x01, 0x90, 0x02, 0x12, 0x34];
    const sum = bytes.slice(2).reduce((a, b) => a + b, 0) & 0xff;
    const events = createSds011Decoder().push(Uint8Array.from([...bytes, sum, 0xab]));
    expect(events).toEqual([{ kind: 'sample', sample: { pm25: 32.5, pm10: 65.6 } }]);
  });

  it('reassembles a frame split across reads, byte by byte', () => {
    const decoder = createSds011Decoder();
    const frame = encodeSds011Frame({ pm25: 12.3, pm10: 20.1 });
    const events = [...frame].flatMap((b) => decoder.push(Uint8Array.of(b)));
    expect(samples(events)).toEqual([{ pm25: 12.3, pm10: 20.1 }]);
  });

  it('reports a checksum error and finds the next good frame', () => {
    const bad = encodeSds011Frame({ pm25: 5, pm10: 9 });
    bad[8] = (bad[8]! + 1) & 0xff;
    const good = encodeSds011Frame({ pm25: 7, pm10: 11 });
    const events = createSds011Decoder().push(Uint8Array.from([...bad, ...good]));
    expect(events.some((e) => e.kind === 'checksum-error')).toBe(true);
    expect(samples(events)).toEqual([{ pm25: 7, pm10: 11 }]);
  });

  it('skips garbage (including a false header) and counts it', () => {
    const good = encodeSds011Frame({ pm25: 1.5, pm10: 2.5 });
    const events = createSds011Decoder().push(Uint8Array.from([0x00, 0xff, 0xaa, 0xc0, 0x01, ...good, 0x13]));
    expect(samples(events)).toEqual([{ pm25: 1.5, pm10: 2.5 }]);
    expect(events.filter((e) => e.kind === 'garbage').reduce((n, e) => n + (e.kind === 'garbage' ? e.bytes : 0), 0)).toBeGreaterThanOrEqual(
      5,
    );
  });

  it('refuses implausible values with a valid checksum (PM2.5 above PM10)', () => {
    const events = createSds011Decoder().push(encodeSds011Frame({ pm25: 80, pm10: 10 }));
    expect(events).toEqual([{ kind: 'implausible', reason: 'PM2.5 80 above PM10 10' }]);
  });

  it('does not let noise grow its buffer without bound', () => {
    const decoder = createSds011Decoder();
    const noise = new Uint8Array(10_000).fill(0x55);
    const events = decoder.push(noise);
    expect(events.every((e) => e.kind === 'garbage')).toBe(true);
    expect(samples(decoder.push(encodeSds011Frame({ pm25: 3, pm10: 4 })))).toEqual([{ pm25: 3, pm10: 4 }]);
  });
});

describe('PMS5003 / PMS7003 frames', () => {
  it('takes the atmospheric-environment words (data 5 and 6)', () => {
    const frame = encodePmsFrame({ pm25: 35, pm10: 48 });
    expect(createPmsDecoder().push(frame)).toEqual([{ kind: 'sample', sample: { pm25: 35, pm10: 48 } }]);
  });

  it('rejects a wrong frame length, a bad checksum, a value past the range', () => {
    const wrongLength = encodePmsFrame({ pm25: 10, pm10: 12 });
    wrongLength[3] = 20;
    const badSum = encodePmsFrame({ pm25: 10, pm10: 12 });
    badSum[31] = (badSum[31]! + 1) & 0xff;
    const tooHigh = encodePmsFrame({ pm25: 1500, pm10: 1600 });
    const d = createPmsDecoder();
    const events = [...d.push(wrongLength), ...d.push(badSum), ...d.push(tooHigh)];
    expect(samples(events)).toEqual([]);
    expect(events.some((e) => e.kind === 'checksum-error')).toBe(true);
    expect(events.some((e) => e.kind === 'implausible')).toBe(true);
  });

  it('reassembles frames split at odd places, with garbage between them', () => {
    const stream = Uint8Array.from([...encodePmsFrame({ pm25: 4, pm10: 6 }), 0x42, 0x00, ...encodePmsFrame({ pm25: 5, pm10: 7 })]);
    const d = createPmsDecoder();
    const events = [d.push(stream.subarray(0, 7)), d.push(stream.subarray(7, 40)), d.push(stream.subarray(40))].flat();
    expect(samples(events)).toEqual([
      { pm25: 4, pm10: 6 },
      { pm25: 5, pm10: 7 },
    ]);
  });
});
