/**
 * Compares two V8 heap snapshots (.heapsnapshot): which constructors / kinds of objects grew,
 * by count and by self size. Enough to point at what a soak retains.
 */
import { readFile } from 'node:fs/promises';

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]]; location_fields?: string[] } };
  nodes: number[];
  strings: string[];
  /** [object_index, script_id, line, column] per closure with a known location. */
  locations?: number[];
}

export interface HeapGroup {
  name: string;
  count: number;
  size: number;
}

/** Objects grouped by type and name (constructor for objects, "(string)", "(closure) name", …). */
export async function heapGroups(file: string): Promise<Map<string, HeapGroup>> {
  const s = JSON.parse(await readFile(file, 'utf8')) as Snapshot;
  const f = s.snapshot.meta.node_fields;
  const types = s.snapshot.meta.node_types[0];
  const width = f.length;
  const iType = f.indexOf('type');
  const iName = f.indexOf('name');
  const iSize = f.indexOf('self_size');
  const groups = new Map<string, HeapGroup>();
  // Where each closure was defined (script id:line:column, 0-based), when V8 recorded it.
  const where = new Map<number, string>();
  const loc = s.locations ?? [];
  for (let i = 0; i + 3 < loc.length; i += 4) where.set(loc[i]!, `script ${loc[i + 1]}:${loc[i + 2]! + 1}:${loc[i + 3]! + 1}`);
  for (let i = 0; i < s.nodes.length; i += width) {
    const type = types[s.nodes[i + iType]!]!;
    const name = s.strings[s.nodes[i + iName]!] ?? '';
    const key = type === 'object' ? name : type === 'closure' ? `(closure) ${name || '(anonymous)'} ${where.get(i) ?? ''}` : `(${type})`;
    const g = groups.get(key) ?? { name: key, count: 0, size: 0 };
    g.count++;
    g.size += s.nodes[i + iSize]!;
    groups.set(key, g);
  }
  return groups;
}

export async function heapDiff(
  before: string,
  after: string,
  top = 20,
): Promise<{ name: string; countDelta: number; sizeDeltaKB: number }[]> {
  const a = await heapGroups(before);
  const b = await heapGroups(after);
  const rows = [...b.values()].map((g) => {
    const old = a.get(g.name);
    return { name: g.name, countDelta: g.count - (old?.count ?? 0), sizeDeltaKB: Math.round((g.size - (old?.size ?? 0)) / 102.4) / 10 };
  });
  return rows.sort((x, y) => y.sizeDeltaKB - x.sizeDeltaKB).slice(0, top);
}
