/**
 * npm run bench                      every benchmark, one after the other
 * npm run bench -- <name> [<name>…]  those only (name = file name without .ts)
 * npm run bench -- <name> -- <args>  one benchmark with its own flags (e.g. --panels 200)
 * npm run bench -- --list            what there is
 *
 * Convention: every `test/bench/<name>.ts` except this file is a benchmark. It exports
 * nothing, runs when executed with tsx (`npx tsx test/bench/<name>.ts`), takes its own flags,
 * prints its figures and writes results/<name>*.json plus a chart image. Shared code lives
 * in test/harness/ (the test harness) and test/bench/support/ (bench output), never at the
 * top level of test/bench/.
 *
 * Each benchmark runs in a child process of its own (a fresh heap, nothing left running
 * between benchmarks); the runner prints the load average before and after each, and the
 * exit status is non-zero if any benchmark failed.
 */
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { loadavg } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const BENCH_DIR = fileURLToPath(new URL('.', import.meta.url));
const REPO = resolve(BENCH_DIR, '..', '..');

export function discoverBenchmarks(dir = BENCH_DIR): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') && !e.name.endsWith('.test.ts') && e.name !== 'run.ts')
    .map((e) => basename(e.name, '.ts'))
    .sort();
}

const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

function runOne(name: string, args: string[]): Promise<number> {
  return new Promise((res) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(BENCH_DIR, `${name}.ts`), ...args], { cwd: REPO, stdio: 'inherit' });
    const forward = (signal: NodeJS.Signals) => child.kill(signal);
    process.on('SIGINT', forward);
    process.on('SIGTERM', forward);
    child.on('exit', (code, signal) => {
      process.off('SIGINT', forward);
      process.off('SIGTERM', forward);
      res(code ?? (signal ? 1 : 0));
    });
  });
}

const argv = process.argv.slice(2);
const dash = argv.indexOf('--');
const names = dash === -1 ? argv : argv.slice(0, dash);
const passArgs = dash === -1 ? [] : argv.slice(dash + 1);
const all = discoverBenchmarks();

if (names.includes('--list') || names.includes('--help')) {
  process.stdout.write(`benchmarks in test/bench/ (npm run bench -- <name> [-- <flags>]):\n${all.map((n) => `  ${n}`).join('\n')}\n`);
  process.exit(0);
}
const unknown = names.filter((n) => !all.includes(n.replace(/\.ts$/, '')));
if (unknown.length > 0) {
  process.stderr.write(`unknown benchmark(s): ${unknown.join(', ')}; there are: ${all.join(', ')}\n`);
  process.exit(2);
}
const chosen = names.length > 0 ? names.map((n) => n.replace(/\.ts$/, '')) : all;
if (passArgs.length > 0 && chosen.length !== 1) {
  process.stderr.write('flags after -- go to one benchmark: name exactly one\n');
  process.exit(2);
}

const outcomes: { name: string; code: number; seconds: number }[] = [];
for (const name of chosen) {
  process.stdout.write(`\n=== bench ${name} (load average ${load()}) ===\n`);
  const started = performance.now();
  const code = await runOne(name, passArgs);
  const seconds = (performance.now() - started) / 1000;
  outcomes.push({ name, code, seconds });
  process.stdout.write(
    `=== ${name}: ${code === 0 ? 'done' : `FAILED (exit ${code})`} in ${seconds.toFixed(0)} s (load average ${load()}) ===\n`,
  );
}
if (outcomes.length > 1) {
  process.stdout.write('\nsummary:\n');
  for (const o of outcomes) process.stdout.write(`  ${o.code === 0 ? 'ok    ' : 'FAILED'} ${o.name} (${o.seconds.toFixed(0)} s)\n`);
}
process.exit(outcomes.some((o) => o.code !== 0) ? 1 : 0);
