/**
 * Bundles a benchmark child's entry (TypeScript) into one ES module with vite, as the
 * Electron build does for main.js: npm packages stay imports (resolved from node_modules),
 * the project's own code is inlined. A child run from the bundle under plain `node` measures
 * what a panel runs, not tsx's on-the-fly compiler and its cached source maps.
 *
 * The output goes under results/.build/ (gitignored; inside the repository so the package
 * imports resolve from its node_modules).
 */
import { builtinModules } from 'node:module';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'vite';
import { RESULTS_DIR } from './report.js';

const root = resolve(fileURLToPath(new URL('../../..', import.meta.url)));

const isExternal = (id: string) => id.startsWith('node:') || builtinModules.includes(id) || (!id.startsWith('.') && !id.startsWith('/') && !id.startsWith('\0'));

/** Builds `entry` (a path relative to the repository) to results/.build/<name>.mjs; returns its path. */
export async function bundleEntry(entry: string, name: string): Promise<string> {
  const outDir = join(RESULTS_DIR, '.build');
  await build({
    configFile: false,
    root,
    logLevel: 'warn',
    build: {
      outDir,
      emptyOutDir: false,
      target: 'node20',
      minify: false,
      sourcemap: false,
      ssr: join(root, entry),
      rolldownOptions: { external: isExternal, output: { format: 'es', entryFileNames: `${name}.mjs` } },
    },
  });
  return join(outDir, `${name}.mjs`);
}
