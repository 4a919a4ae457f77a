import { defineConfig, type Plugin } from 'vite';
import vue from '@vitejs/plugin-vue';

// The backoffice's folder, without node:path (this folder is linted as browser code).
const root = decodeURIComponent(new URL('.', import.meta.url).pathname);

/** `vite serve` injects styles inline (HMR); only there, allow inline styles. Builds keep the strict CSP. */
function devServerCsp(): Plugin {
  return {
    name: 'airpanel-backoffice-dev-csp',
    apply: 'serve',
    transformIndexHtml: (html) => html.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'"),
  };
}

export default defineConfig({
  root,
  // Served by the backend at the site root; app routes are history-mode paths below it.
  base: '/',
  plugins: [vue(), devServerCsp()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    // Fonts and icons as files, never data: URIs.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
  },
  server: {
    fs: { allow: ['..'] },
    // `vite serve` in development: the API of a backend started with `npm start`.
    proxy: { '/api': 'http://127.0.0.1:8080' },
  },
});
