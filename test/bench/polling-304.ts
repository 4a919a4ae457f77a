/**
 * Conditional polling: requests per second and p99 latency of 304 answers of the display
 * endpoint of the real backend (the harness's in-process backend: fastify, SQLite, auth, metrics), against a
 * bare node:http server answering the same 304 after the same header checks, in one run.
 *
 *   npx tsx test/bench/polling-304.ts [--rounds 6] [--seconds 5] [--connections 16] [--profile]
 *
 * Each server runs in a child process of its own (one core each for server and load
 * generator, as far as a 2-core machine allows); autocannon drives them from this process in
 * interleaved rounds (A B, B A, …) so drift of the machine's load hits both alike. The figure
 * is the ratio backend / bare per round (its median and range).
 *
 * Every request is the contract's `getDisplay` (GET `/panels/{panelId}/display` under the API
 * prefix) with the panel's `Authorization: Bearer` key and `If-None-Match` of the current
 * ETag; any answer other than 304 fails the run.
 * The bare server does what the route needs and nothing else: parse the Bearer token (same
 * rule), SHA-256 it and compare in constant time with the stored digest, check that the
 * path's id is the key's panel, match If-None-Match against the ETag, answer 304 with ETag
 * and Cache-Control.
 *
 * --profile: the backend child runs with --cpu-prof and the top self-time functions of the
 * profile are printed (where the time goes); results go to results/polling-304-profile.*.
 *
 * Target (issue 6): backend ≥ 0.7 × bare Node in requests per second.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { loadLine, machineInfo, round, writeReport } from './support/report.js';
import { endpoints, fillPath } from '@airpanel/contract/api';
import { Cleanups, median, startBackend } from '../harness/index.js';

const SELF = fileURLToPath(import.meta.url);
const REPO = join(import.meta.dirname, '..', '..');
const TARGET_RATIO = 0.7;

interface Target {
  kind: 'backend' | 'bare';
  url: string;
  path: string;
  apiKey: string;
  etag: string;
}

// ---------------------------------------------------------------- the servers (children)

async function serveBackend(): Promise<Target> {
  const cleanups = new Cleanups();
  const started = await startBackend({
    mode: 'in-process',
    cleanups,
    mqtt: { mode: 'none' },
    adminToken: null,
    backend: { startLoops: false },
  });
  const backend = started.backend;
  const reg = await started.admin.client.call('createPanel', { body: { id: 'panel-bench', name: 'Bench panel' } });
  const path = fillPath(endpoints.getDisplay.path, { panelId: reg.panel.id });
  const first = await fetch(`${backend.url}${path}`, { headers: { authorization: `Bearer ${reg.apiKey}` } });
  const etag = first.headers.get('etag');
  if (first.status !== 200 || !etag) throw new Error(`first display GET: HTTP ${first.status}, ETag ${etag}`);
  const check = await fetch(`${backend.url}${path}`, { headers: { authorization: `Bearer ${reg.apiKey}`, 'if-none-match': etag } });
  if (check.status !== 304) throw new Error(`conditional GET answered ${check.status}, not 304`);
  const queriesBefore = backend.store.queryCount;
  const stop = async () => {
    // How many DB queries the measured requests made (the route must make none).
    process.stderr.write(`backend child: database queries during the run: ${backend.store.queryCount - queriesBefore}\n`);
    await cleanups.run();
  };
  process.once('SIGTERM', () => void stop().then(() => process.exit(0)));
  return { kind: 'backend', url: backend.url, path, apiKey: reg.apiKey, etag };
}

async function serveBare(): Promise<Target> {
  const panelId = 'panel-bench';
  const apiKey = `apk_${randomBytes(32).toString('base64url')}`;
  const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();
  const byDigest = new Map([[digest(apiKey).toString('hex'), { panelId, digest: digest(apiKey) }]]);
  const etag = '"r1-0123456789abcdef"';
  const pathRe = /^\/api\/v1\/panels\/([^/?]+)\/display(?:\?.*)?$/;
  const server = http.createServer((req, res) => {
    const m = req.method === 'GET' ? pathRe.exec(req.url ?? '') : null;
    if (!m) return void res.writeHead(404).end();
    const auth = /^Bearer[ ]+([\x21-\x7e]{1,512})[ ]*$/i.exec(req.headers.authorization ?? '');
    if (!auth) return void res.writeHead(401, { 'www-authenticate': 'Bearer' }).end();
    const d = digest(auth[1]!);
    const who = byDigest.get(d.toString('hex'));
    if (!who || !timingSafeEqual(d, who.digest)) return void res.writeHead(401).end();
    if (decodeURIComponent(m[1]!) !== who.panelId) return void res.writeHead(403).end();
    const inm = req.headers['if-none-match'];
    const headers = { etag, 'cache-control': 'no-cache' };
    const match =
      !!inm &&
      (inm === etag ||
        inm.split(',').some((c) => {
          const t = c.trim();
          return t === '*' || t === etag || t === `W/${etag}`;
        }));
    if (match) return void res.writeHead(304, headers).end();
    res.writeHead(200, { ...headers, 'content-type': 'application/json; charset=utf-8' }).end('{}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  process.once('SIGTERM', () => {
    server.closeAllConnections();
    server.close(() => process.exit(0));
  });
  return {
    kind: 'bare',
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    path: fillPath(endpoints.getDisplay.path, { panelId }),
    apiKey,
    etag,
  };
}

// ---------------------------------------------------------------- the driver (parent)

interface Child {
  target: Target;
  proc: ChildProcess;
  stop(): Promise<void>;
}

async function startChild(kind: 'backend' | 'bare', profileDir: string | null): Promise<Child> {
  const execArgv = ['--import', 'tsx', ...(profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [])];
  const proc = spawn(process.execPath, [...execArgv, SELF, '--serve', kind], { cwd: REPO, stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve, reject) => {
    const rl = createInterface({ input: proc.stdout! });
    rl.once('line', (l) => {
      rl.close();
      resolve(l);
    });
    proc.once('exit', (code) => reject(new Error(`${kind} server exited (${code}) before it was ready`)));
  });
  const target = JSON.parse(line) as Target;
  return {
    target,
    proc,
    stop: () =>
      new Promise<void>((r) => {
        if (proc.exitCode !== null) return r();
        const kill = setTimeout(() => proc.kill('SIGKILL'), 15_000);
        proc.once('exit', () => {
          clearTimeout(kill);
          r();
        });
        proc.kill('SIGTERM');
      }),
  };
}

interface RoundResult {
  kind: 'backend' | 'bare';
  round: number;
  rps: number;
  total: number;
  p50: number;
  p99: number;
  errors: number;
}

async function load(t: Target, seconds: number, connections: number): Promise<autocannon.Result> {
  return autocannon({
    url: `${t.url}${t.path}`,
    method: 'GET',
    headers: { authorization: `Bearer ${t.apiKey}`, 'if-none-match': t.etag },
    connections,
    pipelining: 1,
    duration: seconds,
  });
}

function checkAll304(kind: string, r: autocannon.Result): void {
  const codes = Object.entries(r.statusCodeStats ?? {}).filter(([code]) => code !== '304');
  if (r.errors > 0 || r.timeouts > 0 || codes.length > 0) {
    throw new Error(`${kind}: answers other than 304: ${JSON.stringify(r.statusCodeStats)}, errors ${r.errors}, timeouts ${r.timeouts}`);
  }
}

/** Top self-time functions of a .cpuprofile (V8's format), grouped by function and file. */
async function summarizeProfile(
  dir: string,
): Promise<{ total: number; top: { fn: string; ms: number; share: number }[]; byArea: Record<string, number> }> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.cpuprofile'));
  if (!files.length) throw new Error(`no .cpuprofile in ${dir}`);
  interface Node {
    id: number;
    callFrame: { functionName: string; url: string; lineNumber: number };
  }
  const prof = JSON.parse(await readFile(join(dir, files[0]!), 'utf8')) as { nodes: Node[]; samples: number[]; timeDeltas: number[] };
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  const area = new Map<string, number>();
  let total = 0;
  prof.samples.forEach((id, i) => {
    const us = prof.timeDeltas[i] ?? 0;
    const n = byId.get(id)!;
    const file = n.callFrame.url.replace(/^file:\/\//, '');
    const where = file ? relative(REPO, file) : '(native)';
    const key = `${n.callFrame.functionName || '(anonymous)'} ${where}:${n.callFrame.lineNumber + 1}`;
    if (n.callFrame.functionName === '(idle)' || n.callFrame.functionName === '(program)') return;
    self.set(key, (self.get(key) ?? 0) + us);
    const a = where.startsWith('node_modules/')
      ? where
          .split('/')
          .slice(0, where.split('/')[1]!.startsWith('@') ? 3 : 2)
          .join('/')
      : where.startsWith('node:')
        ? 'node: built-ins'
        : where === '(native)'
          ? `(native) ${n.callFrame.functionName}`
          : where.split('/').slice(0, 2).join('/');
    area.set(a, (area.get(a) ?? 0) + us);
    total += us;
  });
  const top = [...self.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 20)
    .map(([fn, us]) => ({ fn, ms: round(us / 1000, 1), share: round(us / total, 3) }));
  const byArea = Object.fromEntries(
    [...area.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 15)
      .map(([k, us]) => [k, round(us / total, 3)]),
  );
  return { total: round(total / 1000, 1), top, byArea };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      serve: { type: 'string' },
      rounds: { type: 'string', default: '6' },
      seconds: { type: 'string', default: '5' },
      connections: { type: 'string', default: '16' },
      profile: { type: 'boolean', default: false },
    },
  });
  if (values.serve === 'backend' || values.serve === 'bare') {
    const t = values.serve === 'backend' ? await serveBackend() : await serveBare();
    process.stdout.write(`${JSON.stringify(t)}\n`);
    return;
  }
  const rounds = Number(values.rounds);
  const seconds = Number(values.seconds);
  const connections = Number(values.connections);
  const profileDir = values.profile ? await mkdtemp(join(tmpdir(), 'airpanel-304-prof-')) : null;

  const before = machineInfo();
  console.log(`polling-304: ${rounds} rounds × ${seconds} s per server, ${connections} connections, keep-alive, pipelining 1 (autocannon)`);
  console.log(`start: ${loadLine(before)}`);
  const backend = await startChild('backend', profileDir);
  const bare = await startChild('bare', null);
  const results: RoundResult[] = [];
  try {
    // Warm-up (JIT, connection setup): not counted.
    for (const c of [backend, bare]) checkAll304(c.target.kind, await load(c.target, 2, connections));
    for (let round_ = 1; round_ <= rounds; round_++) {
      const order = round_ % 2 ? [backend, bare] : [bare, backend];
      for (const c of order) {
        const r = await load(c.target, seconds, connections);
        checkAll304(c.target.kind, r);
        const rr: RoundResult = {
          kind: c.target.kind,
          round: round_,
          rps: round(r.requests.average, 0),
          total: r.requests.total,
          p50: r.latency.p50,
          p99: r.latency.p99,
          errors: r.errors,
        };
        results.push(rr);
        console.log(
          `  round ${round_} ${rr.kind.padEnd(7)} ${String(rr.rps).padStart(7)} req/s  p50 ${rr.p50} ms  p99 ${rr.p99} ms  (${rr.total} × 304)  ${loadLine()}`,
        );
      }
    }
  } finally {
    await backend.stop();
    await bare.stop();
  }
  const after = machineInfo();
  const of = (k: 'backend' | 'bare') => results.filter((r) => r.kind === k);
  const ratios = of('backend').map((b) => b.rps / of('bare').find((x) => x.round === b.round)!.rps);
  const p99Ratios = of('backend').map((b) => b.p99 / Math.max(0.001, of('bare').find((x) => x.round === b.round)!.p99));
  const summary = {
    backend: { rpsMedian: median(of('backend').map((r) => r.rps)), p99Median: median(of('backend').map((r) => r.p99)) },
    bare: { rpsMedian: median(of('bare').map((r) => r.rps)), p99Median: median(of('bare').map((r) => r.p99)) },
    rpsRatio: { median: round(median(ratios)), min: round(Math.min(...ratios)), max: round(Math.max(...ratios)) },
    p99Ratio: { median: round(median(p99Ratios)), min: round(Math.min(...p99Ratios)), max: round(Math.max(...p99Ratios)) },
    target: TARGET_RATIO,
  };
  const met = summary.rpsRatio.median >= TARGET_RATIO;
  console.log('');
  console.log(`backend (createBackend, fastify): ${summary.backend.rpsMedian} req/s median, p99 ${summary.backend.p99Median} ms median`);
  console.log(`bare node:http:                   ${summary.bare.rpsMedian} req/s median, p99 ${summary.bare.p99Median} ms median`);
  console.log(
    `ratio backend/bare (req/s), per round: median ${summary.rpsRatio.median} (range ${summary.rpsRatio.min}…${summary.rpsRatio.max}); target ≥ ${TARGET_RATIO}: ${met ? 'MET' : 'NOT MET'}`,
  );
  console.log(
    `ratio backend/bare (p99 latency): median ${summary.p99Ratio.median} (range ${summary.p99Ratio.min}…${summary.p99Ratio.max})`,
  );
  console.log(`end: ${loadLine(after)}`);

  let profile: Awaited<ReturnType<typeof summarizeProfile>> | null = null;
  if (profileDir) {
    profile = await summarizeProfile(profileDir);
    console.log(`\nbackend CPU profile (${profile.total} ms on CPU, warm-up and rounds): self time by area`);
    for (const [k, v] of Object.entries(profile.byArea)) console.log(`  ${(v * 100).toFixed(1).padStart(5)} %  ${k}`);
    console.log('top functions by self time:');
    for (const t of profile.top) console.log(`  ${(t.share * 100).toFixed(1).padStart(5)} %  ${t.fn}`);
    await rm(profileDir, { recursive: true, force: true });
  }

  // A profiled run is slower on the backend's side: its figures go to a file of their own.
  const files = await writeReport(
    profileDir ? 'polling-304-profile' : 'polling-304',
    {
      settings: { rounds, seconds, connections, pipelining: 1, tool: 'autocannon 9' },
      loadAverageStart: before.loadAverage,
      rounds: results,
      summary,
      targetMet: met,
      ...(profile ? { profile } : {}),
    },
    {
      title: 'Conditional polling: 304 answers of the display route',
      panels: [
        {
          kind: 'bars',
          title: 'Requests per second (median of rounds)',
          unit: 'req/s',
          bars: [
            { label: 'bare node:http', value: summary.bare.rpsMedian },
            {
              label: 'backend (fastify)',
              value: summary.backend.rpsMedian,
              text: `${summary.backend.rpsMedian} req/s = ${summary.rpsRatio.median} × bare (target ≥ ${TARGET_RATIO})`,
            },
          ],
        },
        {
          kind: 'bars',
          title: 'p99 latency (median of rounds)',
          unit: 'ms',
          bars: [
            { label: 'bare node:http', value: summary.bare.p99Median },
            { label: 'backend (fastify)', value: summary.backend.p99Median },
          ],
        },
        {
          kind: 'lines',
          title: 'Requests per second by round (interleaved)',
          xLabel: 'round',
          yLabel: 'req/s',
          series: [
            { label: 'bare', points: of('bare').map((r) => [r.round, r.rps]) },
            { label: 'backend', points: of('backend').map((r) => [r.round, r.rps]) },
          ],
        },
      ],
    },
    after,
  );
  console.log(`written: ${files.map((f) => relative(REPO, f)).join(', ')}`);
}

await main();
