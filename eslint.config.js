// ESLint: code quality plus the layer rules (docs/architecture.md, "Layers").
//
// Why layers: the same core runs in Electron on a panel, under plain Node in tests and in
// the simulated fleet (no Electron binary there), and the contract (@airpanel/contract) also runs in the
// renderer and the backend. A single stray import (`electron` in the core, `node:fs` in
// the contract) would break one of those runtimes only at run time, so the rules below make it a
// lint error instead. The per-layer tsconfig files back this up at the type level.
import tseslint from 'typescript-eslint';
import pluginVue from 'eslint-plugin-vue';
import vueParser from 'vue-eslint-parser';
import airpanel from './scripts/eslint-layers.js';

const electronModules = ['electron', 'electron-store', 'electron-updater'];

/** Which folder may import which (paths from the repository root). */
const zones = [
  {
    target: 'contract',
    from: [
      'node-support',
      'src-main/core',
      'src-main/loader',
      'src-main/electron',
      'src-main/headless',
      'src-renderer',
      'backoffice',
      'server-stub',
      'provisioning',
      'tools',
    ],
    message: 'the contract is the bottom layer: it imports no other layer.',
  },
  // Node-only helpers (atomic writes) shared by every Node layer, the shipped loader included.
  {
    target: 'node-support',
    from: [
      'contract',
      'src-main/core',
      'src-main/loader',
      'src-main/electron',
      'src-main/headless',
      'src-renderer',
      'server-stub',
      'provisioning',
      'tools',
    ],
    message: 'node-support is a bottom layer beside the contract: it imports only Node built-ins, no other layer.',
  },
  {
    target: 'src-main/core',
    from: ['src-main/loader', 'src-main/electron', 'src-main/headless', 'src-renderer', 'server-stub', 'provisioning', 'tools'],
    message: 'core runs under plain Node and Electron alike: it imports only the contract and node-support.',
  },
  {
    target: 'src-main/headless',
    from: ['src-main/electron', 'server-stub', 'src-renderer'],
    message: 'the headless host must not depend on the Electron host, the renderer source or the backend.',
  },
  // The loader ships in the read-only image and is never replaced over the air.
  {
    target: 'src-main/loader',
    from: ['src-main/electron', 'src-main/headless', 'src-renderer', 'server-stub', 'provisioning', 'tools'],
    message:
      'the loader is not updated over the air: it may use only the contract, node-support and the dependency-free update files of core.',
  },
  {
    target: 'src-renderer',
    from: [
      'node-support',
      'src-main/core',
      'src-main/loader',
      'src-main/electron',
      'src-main/headless',
      'server-stub',
      'provisioning',
      'tools',
    ],
    message: 'the renderer reaches the main process only through the bridge API of @airpanel/contract/internal.',
  },
  // The backoffice runs in a browser: it talks to the backend over the API only.
  {
    target: 'backoffice',
    from: ['node-support', 'src-main', 'server-stub', 'provisioning', 'tools', 'image', 'scripts', 'test'],
    message: 'the backoffice is browser code: it imports only @airpanel/contract and the renderer package (@airpanel/renderer).',
  },
  {
    target: 'server-stub',
    from: ['src-main/core', 'src-main/loader', 'src-main/electron', 'src-main/headless', 'src-renderer', 'backoffice', 'provisioning'],
    message: 'the backend shares only the contract (@airpanel/contract) with the panel.',
  },
  {
    target: 'provisioning',
    from: ['src-main/core', 'src-main/loader', 'src-main/electron', 'src-main/headless', 'src-renderer', 'server-stub', 'tools'],
    message: 'provisioning shares only the contract (@airpanel/contract) with the rest.',
  },
];

/** Layers that run in a browser as well: no Node built-ins at all. */
const nodeBuiltins = [
  { target: 'contract', message: 'the contract runs in the renderer too: no Node built-ins.' },
  { target: 'src-renderer', message: 'the renderer is browser code: no Node built-ins.' },
  { target: 'backoffice', message: 'the backoffice is browser code: no Node built-ins.' },
];

/**
 * What the shipped loader compiles in from core must stay tiny and dependency-free. (Its
 * tests may use more of core to build fixtures: they are not shipped.)
 */
/**
 * Top-level folders reach each other only through workspace packages (the root package.json's
 * workspaces: @airpanel/contract, @airpanel/node-support, @airpanel/panel/*, @airpanel/backend/*,
 * @airpanel/provisioning/*, @airpanel/release-tools/*, @airpanel/image/*, @airpanel/scripts/*,
 * @airpanel/harness), never by a `../../` path: what one folder offers another is visible in
 * its package.json.
 */
const ownFolders = [
  'contract',
  'node-support',
  'src-main',
  'src-renderer',
  'backoffice',
  'server-stub',
  'provisioning',
  'tools',
  'image',
  'scripts',
  'test',
  'buildroot',
];

const loaderCoreZone = {
  target: 'src-main/loader',
  from: ['src-main/core'],
  except: ['update/fsio.ts', 'update/layout.ts', 'update/bundle-check.ts', 'update/keys.ts'],
  message: 'the loader may compile in only core/update/{fsio,layout,bundle-check,keys}.ts (dependency-free).',
};

export default tseslint.config(
  {
    ignores: [
      '**/node_modules/**',
      '**/dist/**',
      'out/**',
      'results/**',
      'test-results/**',
      'playwright-report/**',
      'artifacts/**',
      '.data/**',
      '.scratch/**',
      'src-renderer/dist/**',
    ],
  },
  ...tseslint.configs.recommended,
  {
    plugins: { airpanel },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'airpanel/layers': ['error', { zones, nodeBuiltins, ownFolders }],
    },
  },
  {
    files: ['src-main/loader/**/*.ts'],
    ignores: ['src-main/loader/**/*.test.ts', 'src-main/loader/**/*.test-support.ts'],
    rules: { 'airpanel/layers': ['error', { zones: [...zones, loaderCoreZone], nodeBuiltins, ownFolders }] },
  },
  {
    // Only the Electron host may load Electron: everything else must run under plain Node.
    files: ['**/*.ts', '**/*.vue'],
    ignores: ['src-main/electron/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: electronModules.map((name) => ({
            name,
            message: 'Only src-main/electron/ may import Electron modules (the core must run under plain Node).',
          })),
        },
      ],
    },
  },
  {
    // node-support is compiled into the loader, which must stay dependency-free: Node built-ins
    // (`node:` prefix) and its own files only. (This replaces the Electron rule above for these
    // files; Electron modules are packages, so they are refused here too.)
    files: ['node-support/**/*.ts'],
    ignores: ['node-support/**/*.test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^(?!node:|\\.)',
              message:
                'node-support imports only Node built-ins (with the node: prefix): the loader compiles it in and must stay dependency-free.',
            },
          ],
        },
      ],
    },
  },
  {
    // the contract runs in the renderer too: no Node or DOM globals either.
    files: ['contract/**/*.ts'],
    rules: {
      'no-restricted-globals': [
        'error',
        ...['window', 'document', 'navigator', 'process', 'Buffer', 'require', '__dirname'].map((name) => ({
          name,
          message: 'the contract is runtime-neutral: no Node or DOM globals.',
        })),
      ],
    },
  },
  // Vue single-file components (the renderer): parsed with vue-eslint-parser, scripts as
  // TypeScript. `vue/no-v-html` backs the rule that operator text is always rendered as text.
  ...pluginVue.configs['flat/recommended'].map((c) => ({ ...c, files: ['src-renderer/**/*.vue', 'backoffice/**/*.vue'] })),
  {
    files: ['src-renderer/**/*.vue', 'backoffice/**/*.vue'],
    languageOptions: {
      parser: vueParser,
      parserOptions: { parser: tseslint.parser, extraFileExtensions: ['.vue'], sourceType: 'module' },
    },
    rules: {
      'vue/no-v-html': 'error',
      'vue/no-v-text-v-html-on-component': 'error',
      // Formatting is not linted elsewhere either.
      'vue/max-attributes-per-line': 'off',
      'vue/singleline-html-element-content-newline': 'off',
      'vue/html-self-closing': 'off',
    },
  },
);
