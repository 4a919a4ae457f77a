// The release bundle carries serialport's native binding (@serialport/bindings-cpp with its
// linux-x64 and linux-arm64 prebuilds) in its node_modules/, and both hosts' bundled code
// finds it there: the real app build (src-main/electron/build.ts), the release bundler with
// its default --deps auto, the bundle extracted and verified in a temp dir far from the
// repository's node_modules, then plain Node opens a real socat pty through it.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { extractBundle, isForeignPrebuild } from '@airpanel/panel/core/update/bundle';
import { startPtyPair, type PtyPair } from '@airpanel/panel/core/sensor/testing/pty-pair';
import * as ops from '@airpanel/release-tools/ops';

const repo = fileURLToPath(new URL('..', import.meta.url));

function run(cmd: string, args: string[], onLine?: (line: string) => void): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { cwd: tmpdir(), stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } });
    let out = '';
    let err = '';
    p.stdout.on('data', (c: Buffer) => {
      const before = out;
      out += c.toString();
      for (const line of out
        .slice(before.lastIndexOf('\n') + 1)
        .split('\n')
        .slice(0, -1))
        onLine?.(line);
    });
    p.stderr.on('data', (c: Buffer) => {
      err += c.toString();
    });
    p.once('error', reject);
    p.once('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`${cmd} exited ${code}: ${err}${out}`))));
  });
}

// Run by plain Node with the extracted bundle's directory and the pty: loads the binding the
// way node-main.js does (createRequire at node-main.js), and opens the device through the
// Electron host's bundled opener (assets/serial-port-*.js → serialport).
const PROBE = `
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { readdirSync } from 'node:fs';
const [dir, device] = process.argv.slice(2);
const req = createRequire(join(dir, 'node-main.js'));
const resolved = req.resolve('@serialport/bindings-cpp');
const Binding = req('@serialport/bindings-cpp').autoDetect();
const listed = await Binding.list();
const nodeHostPort = await Binding.open({ path: device, baudRate: 9600 });
await nodeHostPort.close();
const chunk = readdirSync(join(dir, 'assets')).find((f) => /^serial-port-.*\\.js$/.test(f));
const { openSerialPort } = await import(pathToFileURL(join(dir, 'assets', chunk)).href);
const port = await openSerialPort(device, 9600);
port.once('data', (data) => {
  console.log(JSON.stringify({ resolved, listed: Array.isArray(listed), data: data.toString('hex') }));
  port.close(() => process.exit(0));
});
console.log('open');
`;

describe("the release bundle carries serialport's native binding for the panels' platforms", () => {
  let dir: string;
  let pty: PtyPair | undefined;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'airpanel-serial-bundle-'));
  });
  afterEach(async () => {
    await pty?.unplug();
    await rm(dir, { recursive: true, force: true });
  });

  it('prebuilds of other platforms are left out', () => {
    const panels = ['linux-x64', 'linux-arm64'];
    expect(isForeignPrebuild('prebuilds/win32-x64/x.node', panels)).toBe(true);
    expect(isForeignPrebuild('prebuilds/darwin-x64+arm64', panels)).toBe(true);
    expect(isForeignPrebuild('prebuilds/linux-arm64/x.node', panels)).toBe(false);
    expect(isForeignPrebuild('prebuilds', panels)).toBe(false);
    expect(isForeignPrebuild('dist/index.js', panels)).toBe(false);
  });

  it('built app → release bundle → extracted and verified → plain Node opens a socat pty through it', async () => {
    const app = join(dir, 'app');
    await run(process.execPath, [
      join(repo, 'node_modules/tsx/dist/cli.mjs'),
      join(repo, 'src-main/electron/build.ts'),
      '--out-dir',
      app,
      '--no-renderer',
    ]);
    const b = await ops.bundle({
      inputs: [{ dir: app, as: '.' }],
      version: '3.0.0',
      main: 'main.js',
      nodeMain: 'node-main.js',
      minRuntime: ops.DEFAULT_MIN_RUNTIME,
      outFile: join(dir, 'b.tar.gz'),
      nodeModules: { projectDir: repo, packages: 'auto' },
    });
    // node-main.js requires the binding at run time rather than compiling it in (compiled in,
    // it looked for prebuilds/ beside node-main.js and a serial sensor reported SNS-1).
    const nodeMain = await readFile(join(app, 'node-main.js'), 'utf8');
    expect(nodeMain).toContain('__require("@serialport/bindings-cpp")');
    expect(nodeMain).not.toContain('// node_modules/@serialport/bindings-cpp/');
    const paths = b.descriptor.files.map((f) => f.path);
    const binding = 'node_modules/@serialport/bindings-cpp';
    expect(paths).toContain(`${binding}/prebuilds/linux-x64/@serialport+bindings-cpp.glibc.node`);
    expect(paths).toContain(`${binding}/prebuilds/linux-arm64/@serialport+bindings-cpp.armv8.glibc.node`);
    expect(paths).toContain('node_modules/node-gyp-build/index.js');
    expect(paths.filter((p) => /\/prebuilds\/(?!linux-(x64|arm64)\/)/.test(p))).toEqual([]);

    // Installed as a panel installs a release: every file listed with its hash, checked.
    const installed = join(dir, 'installed');
    const descriptor = await extractBundle(b.file, installed, '3.0.0');
    expect(descriptor.files.length).toBe(paths.length);
    expect(await readdir(join(installed, binding, 'prebuilds'))).toEqual(['linux-arm64', 'linux-x64']);

    pty = await startPtyPair();
    const probe = join(dir, 'probe.mjs');
    await writeFile(probe, PROBE);
    const frame = Buffer.from('aac0d4043a0aa1601dab', 'hex'); // an SDS011 frame
    const out = await run(process.execPath, [probe, installed, pty.device], (line) => {
      if (line === 'open') void pty!.write(frame);
    });
    const result = JSON.parse(out.trim().split('\n').at(-1)!) as { resolved: string; listed: boolean; data: string };
    expect(result.resolved.startsWith(join(installed, binding))).toBe(true);
    expect(result.listed).toBe(true);
    expect(result.data).toBe(frame.toString('hex'));
  }, 120_000);
});
