import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { builtinModules } from 'node:module';
import { dirname, join } from 'node:path';

/**
 * The npm packages a build output needs at run time, so the bundle can carry them in its own
 * `node_modules/` (the Electron host's build keeps npm dependencies external).
 *
 * 1. `importedPackages`: bare specifiers imported / required by the .js/.mjs/.cjs files of
 *    the inputs (static `import … from`, `import()`, `require()` / a bundler's `__require()`
 *    with a string literal);
 *    Node built-ins and the runtime (`electron`) are left out.
 * 2. `dependencyClosure`: those packages plus everything their package.json `dependencies`
 *    and `optionalDependencies` pull in, resolved like Node does (nested node_modules first,
 *    then up to the project's node_modules). Nested node_modules travel with their package.
 */
const RUNTIME_PROVIDED = new Set(['electron']);

export async function importedPackages(dirs: readonly string[]): Promise<string[]> {
  const found = new Set<string>();
  // `__require(…)`: how a bundler's ESM output requires an external from CommonJS code.
  const re = /(?:\bfrom\s*|\bimport\s*\(\s*|\b(?:__)?require\s*\(\s*|^\s*import\s+)["']([^"'./][^"']*)["']/gm;
  async function walk(dir: string): Promise<void> {
    for (const e of await readdir(dir, { withFileTypes: true })) {
      const full = join(dir, e.name);
      if (e.isDirectory()) {
        if (e.name !== 'node_modules') await walk(full);
      } else if (/\.(m|c)?js$/.test(e.name)) {
        // JSDoc blocks of bundled libraries carry usage examples ("import Bourne from
        // '@hapi/bourne'" in got's) that are not imports: leave them out.
        const text = (await readFile(full, 'utf8')).replace(/\/\*\*[\s\S]*?\*\//g, '');
        for (const m of text.matchAll(re)) {
          const spec = m[1]!;
          if (spec.startsWith('node:') || builtinModules.includes(spec.split('/')[0]!)) continue;
          const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!;
          if (!RUNTIME_PROVIDED.has(name)) found.add(name);
        }
      }
    }
  }
  for (const d of dirs) await walk(d);
  return [...found].sort();
}

/** Top-level package directories (under `projectDir/node_modules`) needed by `names`. */
export async function dependencyClosure(projectDir: string, names: readonly string[]): Promise<Map<string, string>> {
  const root = join(projectDir, 'node_modules');
  const topLevel = new Map<string, string>();
  const visited = new Set<string>();
  const queue: Array<{ name: string; from: string }> = names.map((name) => ({ name, from: projectDir }));
  while (queue.length > 0) {
    const { name, from } = queue.shift()!;
    const dir = resolvePackage(name, from, projectDir);
    if (!dir) {
      throw new Error(`runtime dependency ${name} (needed from ${from}) is not installed`);
    }
    if (visited.has(dir)) continue;
    visited.add(dir);
    if (dirname(dir) === root || (dirname(dirname(dir)) === root && name.startsWith('@'))) topLevel.set(name, dir);
    const pkg = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')) as {
      dependencies?: Record<string, string>;
      optionalDependencies?: Record<string, string>;
    };
    for (const dep of Object.keys({ ...pkg.dependencies })) queue.push({ name: dep, from: dir });
    for (const dep of Object.keys({ ...pkg.optionalDependencies })) {
      if (resolvePackage(dep, dir, projectDir)) queue.push({ name: dep, from: dir });
    }
  }
  return new Map([...topLevel.entries()].sort(([a], [b]) => a.localeCompare(b)));
}

function resolvePackage(name: string, from: string, projectDir: string): string | null {
  let dir = from;
  for (;;) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return candidate;
    if (dir === projectDir || dirname(dir) === dir) return null;
    dir = dirname(dir);
  }
}
