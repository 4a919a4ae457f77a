/**
 * Builds, each into one self-contained file (zod included, nothing from node_modules at run time):
 *  - `main.js`: the loader for the Node host (Debian image): `/usr/bin/node main.js --host node …`
 *  - `runtime-app/`: the app of the image's packaged Electron (resources/app): `main.mjs` (the
 *    loader role and the verifying release role, runtime-app/README.md), `package.json`, and
 *    `runtime.json` with the image's paths (`electron` is the one import left to the runtime).
 *      tsx src-main/loader/build.ts [--out-dir dist/loader]
 */
import { copyFile, mkdir, rm, writeFile } from 'node:fs/promises';
import { builtinModules } from 'node:module';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { build } from 'vite';
import { IMAGE_RUNTIME_CONFIG, RUNTIME_CONFIG_FILE } from './runtime-app/config.js';

const root = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const { values } = parseArgs({ options: { 'out-dir': { type: 'string' } } });
const outDir = resolve(values['out-dir'] ?? join(root, 'dist', 'loader'));
await rm(outDir, { recursive: true, force: true });
await mkdir(outDir, { recursive: true });

async function bundle(entry: string, out: string, fileName: string, external: readonly string[]): Promise<void> {
  await build({
    configFile: false,
    root,
    logLevel: 'warn',
    ssr: { noExternal: true },
    build: {
      outDir: out,
      emptyOutDir: false,
      target: 'node22',
      minify: false,
      sourcemap: false,
      ssr: join(root, entry),
      rolldownOptions: {
        external: (id: string) => id.startsWith('node:') || builtinModules.includes(id) || external.includes(id),
        output: { format: 'es', entryFileNames: fileName },
      },
    },
  });
}

await bundle('src-main/loader/main.ts', outDir, 'main.js', []);
const appDir = join(outDir, 'runtime-app');
await mkdir(appDir, { recursive: true });
await bundle('src-main/loader/runtime-app/main.ts', appDir, 'main.mjs', ['electron']);
await copyFile(join(root, 'src-main/loader/runtime-app/package.json'), join(appDir, 'package.json'));
await writeFile(join(appDir, RUNTIME_CONFIG_FILE), `${JSON.stringify(IMAGE_RUNTIME_CONFIG, null, 2)}\n`);
console.log(`loader built: ${join(outDir, 'main.js')}, ${appDir}/ (main.mjs, package.json, ${RUNTIME_CONFIG_FILE})`);
