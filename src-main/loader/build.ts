/**
 * Builds the loader into one self-contained file for the image (zod included, nothing from
 * node_modules at run time), plus runtime-app/ (the packaged Electron's app that starts the
 * chosen bundle):  tsx src-main/loader/build.ts [--out-dir dist/loader]
 * On the panel it runs with the image's Electron in Node mode:
 *   ELECTRON_RUN_AS_NODE=1 /opt/airpanel/airpanel /usr/lib/airpanel/loader/main.js --runtime /opt/airpanel/airpanel …
 */
import { cp, mkdir, rm } from 'node:fs/promises';
import { builtinModules } from 'node:module';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { build } from 'vite';

const root = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const { values } = parseArgs({ options: { 'out-dir': { type: 'string' } } });
const outDir = resolve(values['out-dir'] ?? join(root, 'dist', 'loader'));
await rm(outDir, { recursive: true, force: true });
await mkdir(outDir, { recursive: true });
await build({
  configFile: false,
  root,
  logLevel: 'warn',
  ssr: { noExternal: true },
  build: {
    outDir,
    emptyOutDir: false,
    target: 'node22',
    minify: false,
    sourcemap: false,
    ssr: join(root, 'src-main/loader/main.ts'),
    rolldownOptions: {
      external: (id: string) => id.startsWith('node:') || builtinModules.includes(id),
      output: { format: 'es', entryFileNames: 'main.js' },
    },
  },
});
// The app the image's packaged Electron runs (resources/app/): it starts the bundle entry the
// loader names. Copied as is: plain JavaScript, no dependencies.
await cp(join(root, 'src-main/loader/runtime-app'), join(outDir, 'runtime-app'), { recursive: true });
console.log(`loader built: ${join(outDir, 'main.js')}, ${join(outDir, 'runtime-app')}/`);
