/**
 * Canonical JSON: the exact text a release signature covers.
 *
 * Rules (a small subset of RFC 8785 that is enough for manifests): object keys sorted by
 * UTF-16 code units, no whitespace, strings escaped as `JSON.stringify` does, numbers must be
 * finite (integers or decimals as `JSON.stringify` prints them), no `undefined`, functions,
 * symbols or other non-JSON values. Anything else throws, so a producer and a verifier can
 * never disagree silently about the bytes.
 */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

export class CanonicalJsonError extends Error {
  override name = 'CanonicalJsonError';
}

export function canonicalJson(value: unknown): string {
  return encode(value, '$');
}

function encode(value: unknown, path: string): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value)) throw new CanonicalJsonError(`${path}: non-finite number`);
      return JSON.stringify(Object.is(value, -0) ? 0 : value);
    case 'string':
      return JSON.stringify(value);
    case 'object': {
      if (Array.isArray(value)) return `[${value.map((v, i) => encode(v, `${path}[${i}]`)).join(',')}]`;
      const proto = Object.getPrototypeOf(value) as unknown;
      if (proto !== Object.prototype && proto !== null) throw new CanonicalJsonError(`${path}: not a plain object`);
      const entries = Object.entries(value as Record<string, unknown>);
      const parts: string[] = [];
      for (const [k, v] of entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
        if (v === undefined) throw new CanonicalJsonError(`${path}.${k}: undefined`);
        parts.push(`${JSON.stringify(k)}:${encode(v, `${path}.${k}`)}`);
      }
      return `{${parts.join(',')}}`;
    }
    default:
      throw new CanonicalJsonError(`${path}: ${typeof value} is not JSON`);
  }
}
