/**
 * Compares `a.b.c[-pre]` versions: negative if a < b, 0 if equal, positive if a > b.
 * A pre-release sorts before its release (1.0.0-rc.1 < 1.0.0); pre-release tags compare as
 * strings, which is enough for ordering runtime and bundle versions here.
 */
export function compareVersions(a: string, b: string): number {
  const [ca, pa] = splitPre(a);
  const [cb, pb] = splitPre(b);
  for (let i = 0; i < 3; i++) {
    const d = (ca[i] ?? 0) - (cb[i] ?? 0);
    if (d !== 0) return d;
  }
  if (pa === pb) return 0;
  if (pa === null) return 1;
  if (pb === null) return -1;
  return pa < pb ? -1 : 1;
}

function splitPre(v: string): [number[], string | null] {
  const dash = v.indexOf('-');
  const core = dash === -1 ? v : v.slice(0, dash);
  const nums = core.split('.').map((n) => {
    const x = Number.parseInt(n, 10);
    return Number.isFinite(x) ? x : 0;
  });
  return [nums, dash === -1 ? null : v.slice(dash + 1)];
}
