// First: before any zod schema of the contract is created (see the module).
import './lib/zod-jitless.js';
// Fonts are bundled (see the module).
import './fonts.js';
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
