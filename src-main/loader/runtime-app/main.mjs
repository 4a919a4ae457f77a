// The app of the image's Electron runtime (/opt/airpanel/resources/app/, in place of
// electron-builder's app.asar): the runtime never runs an app of its own. The OTA loader
// (src-main/loader) picks a bundle and starts `airpanel <kiosk flags> <bundle main.js>`;
// a packaged Electron ignores a script path on its command line and always runs
// resources/app, so this file hands over to the bundle's entry point. Plain JavaScript (ESM,
// which Electron's main process loads since Electron 28) with no dependency: it is part of the
// read-only image and must never need an update.
import { existsSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import { pathToFileURL } from 'node:url';

// The loader names the entry in the environment (robust against Chromium switches) and
// as the last argument (what ProcessLauncher appends).
const entry = process.env.AIRPANEL_BUNDLE_ENTRY || process.argv[process.argv.length - 1] || '';
if (!isAbsolute(entry) || !/\.(c|m)?js$/.test(entry) || !existsSync(entry)) {
  console.error(`airpanel runtime: no bundle entry to start (AIRPANEL_BUNDLE_ENTRY=${JSON.stringify(process.env.AIRPANEL_BUNDLE_ENTRY ?? null)}, ` +
    `last argument ${JSON.stringify(entry)}); this runtime is started by the OTA loader`);
  process.exit(1);
}
import(pathToFileURL(entry).href).catch((err) => {
  console.error(`airpanel runtime: loading ${entry} failed:`, err);
  process.exit(1);
});
