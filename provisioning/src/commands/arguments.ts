// Reading and checking the parsed command-line values shared by several commands.
import { ReleaseChannel } from '@airpanel/contract/release';
import { UsageError } from '../errors.js';
import type { PanelTarget } from '../inject.js';
import type { Owner } from '../panel-file.js';

export type Values = Record<string, string | boolean | undefined>;

export function str(v: Values, name: string): string | undefined {
  const x = v[name];
  return typeof x === 'string' ? x : undefined;
}

export function required(v: Values, name: string, command: string): string {
  const x = str(v, name);
  if (!x) throw new UsageError(`${command}: --${name} is required (see --help)`);
  return x;
}

export function parseNumber(text: string | undefined, name: string): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isFinite(n) || text.trim() === '') throw new UsageError(`--${name} must be a number, not ${JSON.stringify(text)}`);
  return n;
}

/** --channel, checked with the release manifest's own rule (a panel on a channel no manifest
 *  can name would never update). */
export function parseChannel(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  const r = ReleaseChannel.safeParse(text);
  if (!r.success) throw new UsageError(`--channel ${JSON.stringify(text)}: ${r.error.issues[0]?.message ?? 'invalid'}`);
  return r.data;
}

export function parseOwner(text: string | undefined): Owner | undefined {
  if (text === undefined) return undefined;
  const m = /^(\d+):(\d+)$/.exec(text);
  if (!m) throw new UsageError(`--owner must be UID:GID (numbers), not ${JSON.stringify(text)}`);
  return { uid: Number(m[1]), gid: Number(m[2]) };
}

export function oneTarget(v: Values, command: string, allowConfig: boolean): PanelTarget | { kind: 'file'; path: string } {
  const given = (['image', 'data-dir', ...(allowConfig ? ['config'] : [])] as const).filter((k) => str(v, k));
  if (given.length !== 1) {
    throw new UsageError(`${command}: give exactly one of --image, --data-dir${allowConfig ? ', --config' : ''} (see --help)`);
  }
  const key = given[0]!;
  const path = str(v, key)!;
  return key === 'image' ? { kind: 'image', path } : key === 'data-dir' ? { kind: 'dir', path } : { kind: 'file', path };
}
