// First: before any zod schema of the contract is created (see the module).
import './lib/zod-jitless.js';
// Fonts are bundled (woff2 files next to the bundle): a roadside panel loads nothing from the network.
import '@fontsource/atkinson-hyperlegible/400.css';
import '@fontsource/atkinson-hyperlegible/700.css';
// Atkinson Hyperlegible is Latin only: the right-to-left scripts come bundled too (their
// script subsets only; the browser fetches a file only when a glyph of its range is shown).
import '@fontsource/noto-sans-arabic/arabic-400.css';
import '@fontsource/noto-sans-arabic/arabic-700.css';
import '@fontsource/noto-sans-hebrew/hebrew-400.css';
import '@fontsource/noto-sans-hebrew/hebrew-700.css';
import './styles.css';
import { createApp } from 'vue';
import type { PanelBridge } from '@airpanel/contract/internal';
import App from './App.vue';
import { discoverBridge } from './bridge/discover.js';
import { installErrorReporting } from './lib/report-errors.js';

let bridge: PanelBridge | null = null;
let discoveryError: unknown = null;
try {
  bridge = discoverBridge();
} catch (err) {
  discoveryError = err;
}

const reportToHost = (report: { message: string }) => bridge?.reportError(report);
let send: (err: unknown, where: string) => void = () => {};
const app = createApp(App, { bridge, report: (message: string) => send(message, 'renderer') });
send = installErrorReporting(app, reportToHost);
if (discoveryError) send(discoveryError, 'bridge discovery');
app.mount('#app');
