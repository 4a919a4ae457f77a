import { describe, expect, it } from 'vitest';
import { AA_LARGE_TEXT_RATIO, contrastRatio, formatRatio, meetsLargeTextAA, parseHexColor, relativeLuminance } from './contrast.js';

describe('contrast (WCAG 2)', () => {
  it('gives the luminance of the extremes and of pure primaries', () => {
    expect(relativeLuminance('#000000')).toBe(0);
    expect(relativeLuminance('#ffffff')).toBeCloseTo(1, 10);
    expect(relativeLuminance('#FF0000')).toBeCloseTo(0.2126, 4);
    expect(relativeLuminance('#00ff00')).toBeCloseTo(0.7152, 4);
    expect(relativeLuminance('#0000ff')).toBeCloseTo(0.0722, 4);
  });

  it('uses the linear segment for dark channels (below 0.04045)', () => {
    // 10/255 = 0.0392: linear, 0.0392 / 12.92.
    expect(relativeLuminance('#0a0a0a')).toBeCloseTo(10 / 255 / 12.92, 8);
  });

  it('gives 21:1 for black on white and 1:1 for a colour on itself, in either order', () => {
    expect(contrastRatio('#000000', '#ffffff')).toBeCloseTo(21, 10);
    expect(contrastRatio('#ffffff', '#000000')).toBeCloseTo(21, 10);
    expect(contrastRatio('#3a7d44', '#3a7d44')).toBe(1);
  });

  it('matches published ratios of known pairs', () => {
    // #767676 on white is the classic lightest grey passing 4.5:1 (4.54:1).
    expect(contrastRatio('#767676', '#ffffff')).toBeCloseTo(4.54, 2);
    // #959595 on white: 2.995:1, just under the large-text threshold.
    expect(contrastRatio('#959595', '#ffffff')).toBeCloseTo(2.995, 3);
    expect(contrastRatio('#949494', '#ffffff')).toBeCloseTo(3.033, 3);
  });

  it('says whether a pair meets AA for large text (3:1)', () => {
    expect(AA_LARGE_TEXT_RATIO).toBe(3);
    expect(meetsLargeTextAA('#ffffff', '#000000')).toBe(true);
    expect(meetsLargeTextAA('#949494', '#ffffff')).toBe(true);
    expect(meetsLargeTextAA('#959595', '#ffffff')).toBe(false);
    expect(meetsLargeTextAA('#ffff00', '#ffffff')).toBe(false);
  });

  it('refuses what is not #rrggbb', () => {
    expect(parseHexColor('#fff')).toBeNull();
    expect(parseHexColor('red')).toBeNull();
    expect(parseHexColor('#12345g')).toBeNull();
    expect(parseHexColor('#0a0B0c')).toEqual([10, 11, 12]);
    expect(contrastRatio('#fff', '#000000')).toBeNull();
    expect(meetsLargeTextAA('nope', '#000000')).toBe(false);
  });

  it('formats a ratio without rounding it up past a threshold', () => {
    expect(formatRatio(21)).toBe('21.0:1');
    expect(formatRatio(2.999)).toBe('2.9:1');
    expect(formatRatio(4.54)).toBe('4.5:1');
  });
});
