#!/usr/bin/env -S npx tsx
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import cliProgress from 'cli-progress';
import * as ops from './ops.js';

/**
 * airpanel-release: the release manager's tool. `npx tsx tools/release/cli.ts <command> --help`.
 * The guide is tools/release/README.md.
 */
type Options = NonNullable<ParseArgsConfig['options']>;
interface Command {
  summary: string;
  usage: string;
  options: Options;
  run(v: Record<string, string | boolean | string[] | undefined>): Promise<void>;
}

const serverOpts: Options = {
  server: { type: 'string', default: process.env.AIRPANEL_SERVER ?? 'http://127.0.0.1:8080' },
  token: { type: 'string', default: process.env.AIRPANEL_ADMIN_TOKEN ?? '' },
};
const keyOpts: Options = {
  key: { type: 'string', multiple: true, default: [] },
  ledger: { type: 'string' },
  keyring: { type: 'string' },
};
/** --ledger (default: release-ledger.json beside the first --key) and --keyring, for ops. */
function ledgerOf(v: Record<string, unknown>): { keyFiles: string[]; ledgerFile?: string; keyringFile?: string } {
  return {
    keyFiles: v.key as string[],
    ...(v.ledger ? { ledgerFile: String(v.ledger) } : {}),
    ...(v.keyring ? { keyringFile: String(v.keyring) } : {}),
  };
}

function feed(v: Record<string, unknown>): ops.FeedClient {
  const token = String(v.token ?? '');
  if (!token) throw new Error('an admin token is needed: --token or AIRPANEL_ADMIN_TOKEN');
  return { server: String(v.server), token };
}
function share(v: unknown): number {
  const raw = String(v ?? '');
  const n = raw.endsWith('%') ? Number(raw.slice(0, -1)) / 100 : Number(raw);
  if (!Number.isFinite(n) || n < 0 || n > 1) throw new Error(`--share must be 0..1 or 0%..100%, got "${raw}"`);
  return n;
}
export function duration(v: unknown): number {
  const m = /^(\d+)([smhd])$/.exec(String(v));
  if (!m) throw new Error(`a duration like 30d, 12h, 45m: got "${String(v)}"`);
  return Number(m[1]) * { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 's' | 'm' | 'h' | 'd'];
}
function required(v: Record<string, unknown>, name: string): string {
  const x = v[name];
  if (typeof x !== 'string' || x === '') throw new Error(`--${name} is required`);
  return x;
}
function progressBar(label: string) {
  const bar = new cliProgress.SingleBar(
    { format: `${label} [{bar}] {percentage}% {value}/{total} bytes`, noTTYOutput: !process.stderr.isTTY, notTTYSchedule: 1000 },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    update: (sent: number, total: number) => {
      if (!started) {
        bar.start(total, 0);
        started = true;
      }
      bar.update(Math.min(sent, total));
    },
    stop: () => {
      if (started) bar.stop();
    },
  };
}

const commands: Record<string, Command> = {
  keygen: {
    summary: 'create an Ed25519 release key pair',
    usage: 'keygen --out keys/release-2026 [--keyring trusted-keys.json] [--comment TEXT]',
    options: { out: { type: 'string' }, keyring: { type: 'string' }, comment: { type: 'string' } },
    async run(v) {
      const out = required(v, 'out');
      await mkdir(dirname(out), { recursive: true });
      const k = await ops.keygen(out, v.keyring as string | undefined, v.comment as string | undefined);
      console.log(
        `key id ${k.keyId}\nprivate key ${out}.key (mode 600: keep it offline)\npublic key  ${out}.pub.json${v.keyring ? `\nadded to ${String(v.keyring)}` : ''}`,
      );
    },
  },
  bundle: {
    summary: 'build the app bundle from build output directories and print its size',
    usage:
      'bundle --version 1.4.0 [--in DIR[:PATH-IN-BUNDLE] ...] [--main main.js] [--node-main node-main.js] [--deps auto|none|pkg,pkg] [--min-runtime electron=45.0.0,node=20.19.0] [--out out/airpanel-1.4.0.tar.gz]\n' +
      '  --min-runtime: the lowest runtime per kiosk host (default electron=45.0.0, plus node=20.19.0 with a Node entry); a host left out cannot run the bundle.\n' +
      '  default input: dist/app (the Electron host build, renderer included) at the bundle root;\n' +
      "  --node-main: the Node kiosk host's entry (bundle.json nodeMain; default node-main.js when the default input has it).\n" +
      '  without dist/app/renderer, src-renderer/dist is added as renderer/. --deps auto (default) carries\n' +
      '  the npm packages the inputs import, with their dependencies, in node_modules/.',
    options: {
      version: { type: 'string' },
      in: { type: 'string', multiple: true, default: [] },
      main: { type: 'string', default: 'main.js' },
      'node-main': { type: 'string' },
      deps: { type: 'string', default: 'auto' },
      'min-runtime': { type: 'string' },
      out: { type: 'string' },
    },
    async run(v) {
      const version = required(v, 'version');
      let ins = v.in as string[];
      let nodeMain = v['node-main'] as string | undefined;
      if (ins.length === 0) {
        if (nodeMain === undefined && existsSync('dist/app/node-main.js')) nodeMain = 'node-main.js';
        if (!existsSync('dist/app')) throw new Error('no --in given and no dist/app: build the app first (npm run build:electron)');
        ins = ['dist/app:.'];
        if (!existsSync('dist/app/renderer') && existsSync('src-renderer/dist')) ins.push('src-renderer/dist:renderer');
      }
      const inputs = ins.map((s) => {
        const i = s.lastIndexOf(':');
        return i > 0 ? { dir: s.slice(0, i), as: s.slice(i + 1) } : { dir: s, as: '.' };
      });
      const outFile = (v.out as string | undefined) ?? `out/airpanel-${version}.tar.gz`;
      await mkdir(dirname(outFile), { recursive: true });
      const deps = String(v.deps);
      const nodeModules =
        deps === 'none'
          ? undefined
          : { projectDir: process.cwd(), packages: deps === 'auto' ? ('auto' as const) : deps.split(',').filter(Boolean) };
      const b = await ops.bundle({
        inputs,
        version,
        main: String(v.main),
        ...(nodeMain ? { nodeMain } : {}),
        minRuntime:
          v['min-runtime'] !== undefined
            ? ops.parseMinRuntime(String(v['min-runtime']))
            : nodeMain
              ? ops.DEFAULT_MIN_RUNTIME
              : { electron: ops.DEFAULT_MIN_RUNTIME.electron },
        outFile,
        ...(nodeModules ? { nodeModules } : {}),
      });
      console.log(
        `${b.file}\n  version ${version}, ${b.descriptor.files.length} files, ${b.size} bytes (${(b.size / 1024).toFixed(1)} KiB)\n  sha512 ${b.sha512}`,
      );
    },
  },
  sign: {
    summary: 'sign a manifest offline (prints the signed envelope as JSON)',
    usage:
      'sign --bundle out/airpanel-1.4.0.tar.gz --version 1.4.0 --channel stable --key k.key [--key k2.key] [--counter N] [--ledger FILE] [--share 10%] [--min-runtime electron=X,node=Y] [--valid-for 30d] [--url ../../bundles/NAME]\n' +
      "  --min-runtime: default the bundle's own (bundle.json minRuntime).\n" +
      "  the counter is the ledger's next (release-ledger.json beside the first key); --counter N must be above it, by at most 1000.\n" +
      '  The signed manifest is recorded in the ledger before it is printed.',
    options: {
      ...keyOpts,
      bundle: { type: 'string' },
      version: { type: 'string' },
      channel: { type: 'string', default: 'stable' },
      counter: { type: 'string' },
      share: { type: 'string', default: '100%' },
      'min-runtime': { type: 'string' },
      'valid-for': { type: 'string', default: '30d' },
      url: { type: 'string' },
    },
    async run(v) {
      const { hashFile, readBundleDescriptor } = await import('@airpanel/panel/update/bundle');
      const { stat } = await import('node:fs/promises');
      const { ReleaseLedger, defaultLedgerFile } = await import('./ledger.js');
      const l = ledgerOf(v);
      const ledger = await ReleaseLedger.open(l.ledgerFile ?? defaultLedgerFile(l.keyFiles));
      const file = required(v, 'bundle');
      const sha512 = await hashFile(file, 'sha512', 'base64');
      const name = `${Buffer.from(sha512, 'base64').toString('hex').slice(0, 64)}.tar.gz`;
      const d = await readBundleDescriptor(file);
      const m = ops.makeManifest({
        version: required(v, 'version'),
        channel: String(v.channel),
        bundleUrl: (v.url as string | undefined) ?? `../../bundles/${name}`,
        sha512,
        size: (await stat(file)).size,
        bundleDescriptorSha256: d.sha256,
        minRuntime: v['min-runtime'] === undefined ? d.descriptor.minRuntime : ops.parseMinRuntime(String(v['min-runtime'])),
        counter: ledger.nextCounter(v.counter === undefined ? undefined : Number(v.counter)),
        rolloutShare: share(v.share),
        validForMs: duration(v['valid-for']),
      });
      const envelope = await ops.signWithKeyFiles(m, l.keyFiles);
      await ledger.record(
        m,
        envelope.signatures.map((x) => x.keyId),
      );
      console.log(JSON.stringify(envelope, null, 2));
    },
  },
  publish: {
    summary: 'upload a bundle (progress bar), sign its manifest with the next counter, publish it on a channel',
    usage:
      'publish --bundle out/airpanel-1.4.0.tar.gz --version 1.4.0 --channel stable --key k.key [--share 10%] [--min-runtime electron=X,node=Y] [--valid-for 30d] [--ledger FILE] [--server URL] [--token T]',
    options: {
      ...serverOpts,
      ...keyOpts,
      bundle: { type: 'string' },
      version: { type: 'string' },
      channel: { type: 'string', default: 'stable' },
      share: { type: 'string', default: '10%' },
      'min-runtime': { type: 'string' },
      'valid-for': { type: 'string', default: '30d' },
    },
    async run(v) {
      const bar = progressBar('upload');
      try {
        const m = await ops.publish(feed(v), {
          bundleFile: required(v, 'bundle'),
          version: required(v, 'version'),
          channel: String(v.channel),
          ...(v['min-runtime'] === undefined ? {} : { minRuntime: ops.parseMinRuntime(String(v['min-runtime'])) }),
          rolloutShare: share(v.share),
          ...ledgerOf(v),
          validForMs: duration(v['valid-for']),
          onProgress: bar.update,
        });
        bar.stop();
        console.log(
          `published ${m.version} on ${m.channel}: counter ${m.counter}, rollout ${(m.rolloutShare * 100).toFixed(0)}%, expires ${m.expiresAt}`,
        );
      } finally {
        bar.stop();
      }
    },
  },
  list: {
    summary: 'show channels, releases and (with --panels) what each panel runs',
    usage: 'list [--panels] [--json] [--server URL] [--token T]',
    options: { ...serverOpts, panels: { type: 'boolean', default: false }, json: { type: 'boolean', default: false } },
    async run(v) {
      const c = feed(v);
      const l = await ops.list(c);
      const panels = v.panels ? await ops.listPanels(c) : undefined;
      if (v.json) {
        console.log(JSON.stringify({ ...l, ...(panels ? { panels } : {}) }, null, 2));
        return;
      }
      console.log(`highest counter ${l.maxCounter}`);
      for (const [name, ch] of Object.entries(l.channels)) {
        const active = l.releases.find((r) => r.channel === name && r.counter === ch.activeCounter);
        const left = active ? Date.parse(active.expiresAt) - Date.now() : Infinity;
        const expiry =
          left < 0
            ? ' EXPIRED: panels refuse it, re-sign with promote'
            : left < 7 * 86_400_000
              ? ' expires within 7 days: re-sign with promote'
              : '';
        const unservable = active?.servable === false ? ` NOT SERVABLE: ${active.notServableReason ?? ''}` : '';
        console.log(
          `channel ${name}: ${active ? `${active.version} (counter ${active.counter}, rollout ${(active.rolloutShare * 100).toFixed(0)}%, expires ${active.expiresAt})` : 'nothing'}${ch.paused ? ' PAUSED' : ''}${expiry}${unservable}`,
        );
      }
      for (const r of [...l.releases].sort((a, b) => (a.counter ?? 0) - (b.counter ?? 0))) {
        // A row the feed cannot serve to current panels (schema 1) may lack any field: printed as stored.
        if (r.servable === false)
          console.log(
            `  #${r.counter ?? '?'} ${r.channel ?? '?'} ${r.version ?? '?'} NOT SERVABLE: ${r.notServableReason ?? ''}${r.active ? ' *' : ''}`,
          );
        else
          console.log(
            `  #${r.counter} ${r.channel} ${r.version} share ${(r.rolloutShare * 100).toFixed(0)}% size ${r.bundle.size} keys ${r.keyIds.join(',')}${r.active ? ' *' : ''}`,
          );
      }
      if (panels) {
        for (const p of (
          panels as {
            panels: Array<{
              panelId: string;
              runningVersion: string | null;
              noValidManifestSince?: string | null;
              lastUpdate: { phase: string; targetVersion: string | null; detail: string | null } | null;
            }>;
          }
        ).panels) {
          const silent = p.noValidManifestSince ? `; NO VALID MANIFEST SINCE ${p.noValidManifestSince}` : '';
          console.log(
            `panel ${p.panelId}: runs ${p.runningVersion ?? '?'}; last update ${p.lastUpdate ? `${p.lastUpdate.phase} ${p.lastUpdate.targetVersion ?? ''} ${p.lastUpdate.detail ?? ''}` : 'none'}${silent}`,
          );
        }
      }
    },
  },
  promote: {
    summary: 'change the rollout share of a release, or move it to another channel (re-signs with the next counter)',
    usage:
      'promote --version 1.4.0 --share 50% [--channel stable] [--from-channel beta] --key k.key [--valid-for 30d] [--ledger FILE] [--keyring FILE]\n' +
      "  re-signs what the ledger recorded; the feed's stored copy must carry a valid signature by a trusted key and its\n" +
      '  bundle must hash to the signed sha512 (downloaded and checked here), or nothing is signed.',
    options: {
      ...serverOpts,
      ...keyOpts,
      version: { type: 'string' },
      channel: { type: 'string', default: 'stable' },
      'from-channel': { type: 'string' },
      share: { type: 'string' },
      'valid-for': { type: 'string', default: '30d' },
    },
    async run(v) {
      const m = await ops.promote(feed(v), {
        version: required(v, 'version'),
        channel: String(v.channel),
        ...(v['from-channel'] ? { fromChannel: String(v['from-channel']) } : {}),
        rolloutShare: share(required(v, 'share')),
        ...ledgerOf(v),
        validForMs: duration(v['valid-for']),
      });
      console.log(`${m.version} on ${m.channel}: rollout ${(m.rolloutShare * 100).toFixed(0)}% (counter ${m.counter})`);
    },
  },
  floor: {
    summary: "write the image's release floor (highest counter signed so far + factory version) for the read-only root",
    usage: 'floor --factory-version 1.4.0 --out <root>/usr/lib/airpanel/release-floor.json (--ledger FILE | --key k.key)',
    options: { ...keyOpts, 'factory-version': { type: 'string' }, out: { type: 'string' } },
    async run(v) {
      const { defaultLedgerFile } = await import('./ledger.js');
      const l = ledgerOf(v);
      const f = await ops.writeImageFloor({
        ledgerFile: l.ledgerFile ?? defaultLedgerFile(l.keyFiles),
        factoryVersion: required(v, 'factory-version'),
        outFile: required(v, 'out'),
      });
      console.log(`release floor: counter ${f.counterFloor}, factory version ${f.factoryVersion} → ${String(v.out)}`);
    },
  },
  pause: {
    summary: "stop serving a channel's manifest (panels keep what they run); --resume to serve it again",
    usage: 'pause --channel stable [--resume]',
    options: { ...serverOpts, channel: { type: 'string', default: 'stable' }, resume: { type: 'boolean', default: false } },
    async run(v) {
      await ops.setPaused(feed(v), String(v.channel), !v.resume);
      console.log(`channel ${String(v.channel)} ${v.resume ? 'resumed' : 'paused'}`);
    },
  },
  rollback: {
    summary: 'point a channel back at an earlier release (re-signed with the next counter so panels accept it)',
    usage: 'rollback --channel stable [--to 1.3.0] --key k.key [--share 100%] [--ledger FILE] [--keyring FILE]   (checked as promote is)',
    options: {
      ...serverOpts,
      ...keyOpts,
      channel: { type: 'string', default: 'stable' },
      to: { type: 'string' },
      share: { type: 'string', default: '100%' },
      'valid-for': { type: 'string', default: '30d' },
    },
    async run(v) {
      const m = await ops.rollback(feed(v), {
        channel: String(v.channel),
        ...(v.to ? { to: String(v.to) } : {}),
        rolloutShare: share(v.share),
        ...ledgerOf(v),
        validForMs: duration(v['valid-for']),
      });
      console.log(`channel ${m.channel} now serves ${m.version} (counter ${m.counter})`);
    },
  },
};

function usage(): string {
  return [
    'usage: airpanel-release <command> [options]   (each command has --help)',
    '',
    ...Object.entries(commands).map(([n, c]) => `  ${n.padEnd(9)} ${c.summary}`),
    '',
    'server and token: --server/--token or AIRPANEL_SERVER/AIRPANEL_ADMIN_TOKEN',
  ].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(usage());
    return name ? 0 : 2;
  }
  const cmd = commands[name];
  if (!cmd) {
    console.error(`unknown command "${name}"\n\n${usage()}`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(`${name}: ${cmd.summary}\n\nusage: airpanel-release ${cmd.usage}`);
    return 0;
  }
  try {
    const { values } = parseArgs({ args: rest, options: cmd.options, strict: true, allowPositionals: false });
    await cmd.run(values as Record<string, string | boolean | string[] | undefined>);
    return 0;
  } catch (e) {
    const err = e as Error & { response?: { statusCode: number; body: unknown } };
    console.error(`${name}: ${err.response ? `HTTP ${err.response.statusCode}: ${String(err.response.body)}` : err.message}`);
    return 1;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.exitCode = await main(process.argv.slice(2));
}
