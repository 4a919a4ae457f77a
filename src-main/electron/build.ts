/**
 * Builds the Electron host into dist/app (what electron-builder.yml packs):
 *   dist/app/main.js      main process, ESM; npm dependencies and Electron stay external
 *   dist/app/node-main.js the Node kiosk host (bundle.json `nodeMain`: the Debian image), ESM,
 *                         one file with npm dependencies compiled in, but for native ones
 *                         (@serialport/bindings-cpp), which the release bundle's node_modules/ carries
 *   dist/app/preload.cjs  the sandboxed preload: one CommonJS file, only `require('electron')`
 *   dist/app/renderer/    the built renderer (src-renderer/dist, run build:renderer first)
 *
 *   npm run build:electron
 *   tsx src-main/electron/build.ts [--out-dir DIR] [--no-renderer]
 *
 * Electron itself cannot run on a machine without its binary; this build (and the type
 * check) still runs there.
 */
import { cp, mkdir, readFile, rm, stat } from 'node:fs/promises';
import { builtinModules } from 'node:module';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { build } from 'vite';

const root = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const { values: args } = parseArgs({ options: { 'out-dir': { type: 'string' }, 'no-renderer': { type: 'boolean', default: false } } });
const outDir = resolve(args['out-dir'] ?? join(root, 'dist', 'app'));
const pkg = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
const deps = Object.keys(pkg.dependencies ?? {});
/** Packages with a native binding: node-main.js imports them instead of compiling them in. */
const NODE_MAIN_EXTERNAL = ['@serialport/bindings-cpp'];
const isExternal = (id: string) =>
  id === 'electron' || id.startsWith('node:') || builtinModules.includes(id) || deps.some((d) => id === d || id.startsWith(`${d}/`));

await rm(outDir, { recursive: true, force: true });
await mkdir(outDir, { recursive: true });

// Main process: ESM (package.json has "type": "module"), Node 22 = Electron 45's runtime.
await build({
  configFile: false,
  root,
  logLevel: 'warn',
  define: { __AIRPANEL_BUILD_TIME__: JSON.stringify(Date.now()) },
  build: {
    outDir,
    emptyOutDir: false,
    target: 'node22',
    minify: false,
    sourcemap: true,
    ssr: join(root, 'src-main/electron/main.ts'),
    rolldownOptions: {
      external: isExternal,
      output: { format: 'es', entryFileNames: 'main.js' },
    },
  },
});

// The Node kiosk host (src-main/headless/kiosk): Node 20 (Debian's), every dependency
// compiled in but the native ones (NODE_MAIN_EXTERNAL): a compiled-in
// @serialport/bindings-cpp would look for its prebuilds/ beside the bundle. Those stay
// imports, resolved from the release bundle's node_modules/ (the release bundler's --deps auto).
await build({
  configFile: false,
  root,
  logLevel: 'warn',
  define: { __AIRPANEL_BUILD_TIME__: JSON.stringify(Date.now()) },
  ssr: { noExternal: true, target: 'node' },
  build: {
    outDir,
    emptyOutDir: false,
    target: 'node20',
    minify: false,
    sourcemap: true,
    ssr: join(root, 'src-main/headless/kiosk/main.ts'),
    rolldownOptions: {
      external: (id: string) =>
        id.startsWith('node:') || builtinModules.includes(id) || NODE_MAIN_EXTERNAL.some((d) => id === d || id.startsWith(`${d}/`)),
      output: { format: 'es', entryFileNames: 'node-main.js', codeSplitting: false },
    },
  },
});

// Preload: sandboxed, so no ESM imports of other files: a single CommonJS file.
await build({
  configFile: false,
  root,
  logLevel: 'warn',
  // Vite's SSR build would leave the dependencies of a linked workspace package (zod, through
  // @airpanel/contract) as require()s: compile everything in.
  ssr: { noExternal: true },
  build: {
    outDir,
    emptyOutDir: false,
    target: 'chrome140',
    minify: false,
    sourcemap: false,
    ssr: join(root, 'src-main/electron/preload.ts'),
    rolldownOptions: {
      // Only `electron` may stay a require(): a sandboxed preload has no other module.
      external: (id: string) => id === 'electron',
      output: { format: 'cjs', entryFileNames: 'preload.cjs' },
    },
  },
});

const rendererDist = join(root, 'src-renderer', 'dist');
if (!args['no-renderer']) {
  try {
    await stat(join(rendererDist, 'index.html'));
    await cp(rendererDist, join(outDir, 'renderer'), { recursive: true });
  } catch {
    console.warn('build:electron: src-renderer/dist/index.html missing; run `npm run build:renderer` first');
    process.exitCode = 1;
  }
}

// Guard: the preload must require nothing but electron (a sandboxed preload cannot).
const preload = await readFile(join(outDir, 'preload.cjs'), 'utf8');
const requires = [...preload.matchAll(/require\(["']([^"']+)["']\)/g)].map((m) => m[1]);
if (requires.some((r) => r !== 'electron')) {
  console.error(`build:electron: preload.cjs requires ${requires.join(', ')}; a sandboxed preload may only require electron`);
  process.exitCode = 1;
}
// Guard: every package main.js imports must be a runtime dependency (electron-builder packs
// only `dependencies`; a devDependency would be missing on the panel).
const main = await readFile(join(outDir, 'main.js'), 'utf8');
const imported = new Set([...main.matchAll(/^import .* from ["']([^"']+)["'];?$/gm)].map((m) => m[1] ?? ''));
const missing = [...imported].filter(
  (id) =>
    id !== 'electron' && !id.startsWith('node:') && !builtinModules.includes(id) && !deps.some((d) => id === d || id.startsWith(`${d}/`)),
);
if (missing.length > 0) {
  console.error(`build:electron: main.js imports ${missing.join(', ')}, not in package.json dependencies`);
  process.exitCode = 1;
}
// Guard: node-main.js is self-contained but for NODE_MAIN_EXTERNAL (Node built-ins otherwise).
const nodeMain = await readFile(join(outDir, 'node-main.js'), 'utf8');
const nodeImports = [...nodeMain.matchAll(/^import .* from ["']([^"']+)["'];?$|\b__require\(["']([^"']+)["']\)/gm)]
  .map((m) => m[1] ?? m[2] ?? '')
  .filter(
    (id) => !id.startsWith('node:') && !builtinModules.includes(id) && !NODE_MAIN_EXTERNAL.some((d) => id === d || id.startsWith(`${d}/`)),
  );
if (nodeImports.length > 0) {
  console.error(
    `build:electron: node-main.js imports ${[...new Set(nodeImports)].join(', ')}; only ${NODE_MAIN_EXTERNAL.join(', ')} may stay outside it`,
  );
  process.exitCode = 1;
}
console.log(`build:electron: wrote ${outDir} (main.js, node-main.js, preload.cjs, renderer/)`);
