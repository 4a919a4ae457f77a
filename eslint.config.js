// ESLint: code quality plus the layer rules of ../shared/design.md.
//
// Why layers: the same core runs in Electron on a panel, under plain Node in tests and in
// the simulated fleet (no Electron binary there), and the common contract also runs in the
// renderer and the backend. A single stray import (`electron` in the core, `node:fs` in
// common) would break one of those runtimes only at run time, so the rules below make it a
// lint error instead. The per-layer tsconfig files back this up at the type level.
import tseslint from 'typescript-eslint';
import importX from 'eslint-plugin-import-x';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';
import pluginVue from 'eslint-plugin-vue';
import vueParser from 'vue-eslint-parser';

const electronModules = ['electron', 'electron-store', 'electron-updater'];

export default tseslint.config(
  {
    ignores: ['**/node_modules/**', '**/dist/**', 'out/**', 'results/**', 'test-results/**',
      'playwright-report/**', 'artifacts/**', '.data/**', 'src-renderer/dist/**'],
  },
  ...tseslint.configs.recommended,
  {
    plugins: { 'import-x': importX },
    // Imports are written with `.js` (NodeNext) but the files are `.ts`: without a TypeScript
    // resolver import-x cannot resolve them, and the path zones below would silently pass.
    settings: {
      'import-x/resolver-next': [createTypeScriptImportResolver({ noWarnOnMultipleProjects: true, project: ['src-main/*/tsconfig.json', 'server-stub/tsconfig.json', 'provisioning/tsconfig.json', 'test/tsconfig.json', 'src-renderer/tsconfig.json'] })],
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      // Layer boundaries by path: which folder may import which.
      'import-x/no-restricted-paths': ['error', {
        zones: [
          { target: './src-main/common', from: ['./src-main/core', './src-main/electron', './src-main/headless', './src-renderer', './server-stub', './provisioning'],
            message: 'common is the bottom layer: it imports no other layer.' },
          { target: './src-main/core', from: ['./src-main/loader', './src-main/electron', './src-main/headless', './src-renderer', './server-stub'],
            message: 'core runs under plain Node and Electron alike: it imports only common.' },
          { target: './src-main/headless', from: ['./src-main/electron', './server-stub'],
            message: 'the headless host must not depend on the Electron host or the backend.' },
          { target: './src-main/loader', from: ['./src-main/electron', './src-main/headless', './src-renderer', './server-stub', './tools'],
            message: 'the loader is not updated over the air: it may use only common and the dependency-free update files of core.' },
          { target: './src-renderer', from: ['./src-main/core', './src-main/electron', './src-main/headless', './server-stub'],
            message: 'the renderer reaches the main process only through the bridge API in common.' },
          { target: './server-stub', from: ['./src-main/core', './src-main/electron', './src-main/headless', './src-renderer'],
            message: 'the backend shares only the contract (src-main/common) with the panel.' },
          { target: './provisioning', from: ['./src-main/core', './src-main/electron', './src-main/headless', './src-renderer', './server-stub'],
            message: 'provisioning shares only the contract (src-main/common) with the rest.' },
        ],
      }],
    },
  },
  {
    // The loader ships in the read-only image and is never replaced over the air, so what it
    // compiles in from core must stay tiny and dependency-free: only these update files.
    // (Its tests may use more of core to build fixtures.)
    files: ['src-main/loader/**/*.ts'],
    ignores: ['src-main/loader/**/*.test.ts'],
    rules: {
      'import-x/no-restricted-paths': ['error', {
        zones: [
          { target: './src-main/loader', from: ['./src-main/electron', './src-main/headless', './src-renderer', './server-stub', './tools'],
            message: 'the loader is not updated over the air: it may use only common and the dependency-free update files of core.' },
          { target: './src-main/loader', from: './src-main/core', except: ['./update/fsio.ts', './update/layout.ts', './update/bundle-check.ts'],
            message: 'the loader may compile in only core/update/{fsio,layout,bundle-check}.ts (dependency-free).' },
        ],
      }],
    },
  },
  {
    // Only the Electron host may load Electron: everything else must run under plain Node.
    files: ['**/*.ts', '**/*.vue'],
    ignores: ['src-main/electron/**'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: electronModules.map((name) => ({ name, message: 'Only src-main/electron/ may import Electron modules (the core must run under plain Node).' })),
      }],
    },
  },
  {
    // common runs in the renderer too: no Node built-ins, no DOM globals.
    files: ['src-main/common/**/*.ts'],
    rules: {
      'import-x/no-nodejs-modules': 'error',
      'no-restricted-globals': ['error',
        ...['window', 'document', 'navigator', 'process', 'Buffer', 'require', '__dirname'].map((name) => ({ name, message: 'common is runtime-neutral: no Node or DOM globals.' }))],
    },
  },
  // Vue single-file components (the renderer): parsed with vue-eslint-parser, scripts as
  // TypeScript. `vue/no-v-html` backs the rule that operator text is always rendered as text.
  ...pluginVue.configs['flat/recommended'].map((c) => ({ ...c, files: ['src-renderer/**/*.vue'] })),
  {
    files: ['src-renderer/**/*.vue'],
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
  {
    // The renderer is browser code: no Node built-ins.
    files: ['src-renderer/**/*.ts', 'src-renderer/**/*.vue'],
    rules: { 'import-x/no-nodejs-modules': 'error' },
  },
);
