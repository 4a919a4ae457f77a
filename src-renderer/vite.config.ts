import { defineConfig, type Plugin } from 'vite';
import vue from '@vitejs/plugin-vue';

// The renderer's folder, without node:path (this folder is linted as browser code).
const root = decodeURIComponent(new URL('.', import.meta.url).pathname);

/**
 * The dev server injects styles inline (<style> tags for HMR), which the strict CSP of
 * index.html forbids; in `vite serve` only, allow inline styles. Builds keep the strict CSP.
 */
function devServerCsp(): Plugin {
  return {
    name: 'airpanel-dev-csp',
    apply: 'serve',
    transformIndexHtml: (html) => html.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'"),
  };
}

export default defineConfig({
  root,
  // Relative URLs: the same build loads from file:// (Electron) and from the headless host.
  base: './',
  plugins: [vue(), devServerCsp()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    // Fonts and icons as files, never data: URIs (font-src 'self').
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
  },
  server: { fs: { allow: ['..'] } },
});
