// Making a TypeScript program runnable by a child `node`, two ways:
//   buildForNode: esbuild (installed as tsx's compiler), fast; for tests that start a child
//     many times (without esbuild the child runs under tsx instead);
//   bundleLikeRelease: vite, as the Electron build makes main.js (npm packages stay imports,
//     the project's own code is inlined); for benchmarks that measure what a panel runs, not
//     an on-the-fly compiler.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join } from 'node:path';

export const REPO_ROOT = join(import.meta.dirname, '..', '..');

/** Bundles `source` into `outFile` with esbuild; `nodeArgs` go before the entry on the node command line. */
export function buildForNode(source: string, outFile: string): { entry: string; nodeArgs: string[] } {
  const esbuild = join(REPO_ROOT, 'node_modules', '.bin', 'esbuild');
  const built =
    existsSync(esbuild) &&
    spawnSync(
      esbuild,
      [
        source,
        '--bundle',
        '--platform=node',
        '--format=esm',
        '--target=node20',
        `--outfile=${outFile}`,
        '--log-level=error',
        "--banner:js=import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
      ],
      { stdio: 'inherit' },
    ).status === 0;
  return built ? { entry: outFile, nodeArgs: [] } : { entry: source, nodeArgs: ['--import', 'tsx'] };
}

/** `buildForNode` as one argument list: node args, then the entry. */
export function nodeArgsFor(source: string, outFile: string): string[] {
  const b = buildForNode(source, outFile);
  return [...b.nodeArgs, b.entry];
}

/** npm packages stay imports; the repository's own workspace packages (@airpanel/*, TypeScript sources) are inlined. */
const isExternal = (id: string) =>
  id.startsWith('node:') ||
  builtinModules.includes(id) ||
  (!id.startsWith('.') && !id.startsWith('/') && !id.startsWith('\0') && !id.startsWith('@airpanel/'));

/**
 * Bundles `entry` (a path relative to the repository) with vite into `<outDir>/<name>.mjs`.
 * The default outDir, results/.build, is git-ignored and inside the repository so the
 * bundle's package imports resolve from its node_modules.
 */
export async function bundleLikeRelease(entry: string, name: string, outDir = join(REPO_ROOT, 'results', '.build')): Promise<string> {
  // vite is loaded only here: most harness users never bundle.
  const { build } = await import('vite');
  await build({
    configFile: false,
    root: REPO_ROOT,
    logLevel: 'warn',
    build: {
      outDir,
      emptyOutDir: false,
      target: 'node20',
      minify: false,
      sourcemap: false,
      ssr: join(REPO_ROOT, entry),
      rolldownOptions: { external: isExternal, output: { format: 'es', entryFileNames: `${name}.mjs` } },
    },
  });
  return join(outDir, `${name}.mjs`);
}
