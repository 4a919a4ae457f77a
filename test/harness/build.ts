import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const repo = join(import.meta.dirname, '..', '..');

/**
 * Makes a TypeScript test program loadable quickly by a child `node`: bundled once with
 * esbuild (installed as tsx's compiler) into `outFile`; without esbuild, loaded through tsx.
 * `nodeArgs` go before the script on the node command line.
 */
export function buildForNode(source: string, outFile: string): { entry: string; nodeArgs: string[] } {
  const esbuild = join(repo, 'node_modules', '.bin', 'esbuild');
  const built = existsSync(esbuild) && spawnSync(esbuild, [source, '--bundle', '--platform=node', '--format=esm', '--target=node20', `--outfile=${outFile}`, '--log-level=error',
    "--banner:js=import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);"], { stdio: 'inherit' }).status === 0;
  return built ? { entry: outFile, nodeArgs: [] } : { entry: source, nodeArgs: ['--import', 'tsx'] };
}

export function nodeArgsFor(source: string, outFile: string): string[] {
  const b = buildForNode(source, outFile);
  return [...b.nodeArgs, b.entry];
}
