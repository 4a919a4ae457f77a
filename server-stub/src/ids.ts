import { randomUUID } from 'node:crypto';

/** A new id `<prefix>-<8 hex>` that `taken` does not know yet (for resources created without one). */
export function freshId(prefix: string, taken: (candidate: string) => boolean): string {
  for (;;) {
    const candidate = `${prefix}-${randomUUID().slice(0, 8)}`;
    if (!taken(candidate)) return candidate;
  }
}
