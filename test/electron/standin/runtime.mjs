// Stand-in for the packaged Electron binary (/opt/airpanel/airpanel) in tests, run by Node:
//   node runtime.mjs <resources/app dir> <the binary's arguments…>
// What it models of Electron: the app is resources/app's package.json `main`, whatever script
// the command line names; process.argv is [binary, …arguments]; `ready` is emitted only once
// the entry module has been evaluated (its top-level await included); the process then stays
// up until something quits it. Copied next to a stand-in `node_modules/electron` so that the
// app and the bundles it imports resolve the same stand-in module.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const [appDir, ...args] = process.argv.slice(2);
const main = JSON.parse(readFileSync(join(appDir, 'package.json'), 'utf8')).main;
process.argv = [process.env.STANDIN_ELECTRON_EXEC ?? process.argv[1], ...args];
await import(pathToFileURL(join(appDir, main)).href);
const { standIn } = await import('electron');
standIn.emitReady();
setInterval(() => {}, 2 ** 30);
