#!/usr/bin/env node
// Airpanel provisioning CLI: `npm run provision -- <register|inject|show|status> [options]`.
// This file parses the command line and dispatches; each command lives in commands/.
import { tmpdir } from 'node:os';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import cliProgress from 'cli-progress';
import { createFetchTransport } from '@airpanel/contract/api';
import type { ProgressFn } from './disk.js';
import { ProvisionError, UsageError } from './errors.js';
import { ProcessToolRunner } from './tools.js';
import type { Values } from './commands/arguments.js';
import type { CliDeps } from './commands/deps.js';
import { inject } from './commands/inject.js';
import { register } from './commands/register.js';
import { show } from './commands/show.js';
import { status } from './commands/status.js';
import { HELP, OPTIONS, USAGE } from './commands/usage.js';

export { IMAGE_APP_OWNER, type CliDeps } from './commands/deps.js';

const COMMANDS: Record<string, (v: Values, deps: CliDeps) => Promise<void>> = { register, inject, show, status };

/** Runs the CLI; returns the exit code. */
export async function runCli(argv: readonly string[], deps: CliDeps): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    deps.out(USAGE);
    return command ? 0 : 2;
  }
  const run = COMMANDS[command];
  if (!run) {
    deps.err(`unknown command ${JSON.stringify(command)}\n\n${USAGE}`);
    return 2;
  }
  try {
    let values: Values;
    try {
      ({ values } = parseArgs({ args: [...rest], options: OPTIONS[command]!, strict: true, allowPositionals: false }) as {
        values: Values;
      });
    } catch (e) {
      throw new UsageError(`${command}: ${(e as Error).message}`);
    }
    if (values.help) {
      deps.out(HELP[command]!);
      return 0;
    }
    await run(values, deps);
    return 0;
  } catch (e) {
    if (e instanceof ProvisionError) {
      deps.err(`error: ${e.message}`);
      return e.exitCode;
    }
    deps.err(`error: ${(e as Error).stack ?? String(e)}`);
    return 1;
  }
}

/** A progress bar on stderr for copies of a card's data partition (only on a terminal). */
function terminalProgress(): ProgressFn | undefined {
  if (!process.stderr.isTTY) return undefined;
  let bar: cliProgress.SingleBar | null = null;
  let current = '';
  return (phase, done, total) => {
    if (total < 64 * 1024 * 1024) return; // small images: instant anyway
    if (!bar || phase !== current) {
      bar?.stop();
      current = phase;
      bar = new cliProgress.SingleBar(
        { stream: process.stderr, format: `${phase} data partition [{bar}] {percentage}% {value}/{total} MiB`, hideCursor: true },
        cliProgress.Presets.shades_classic,
      );
      bar.start(Math.ceil(total / 1048576), 0);
    }
    bar.update(Math.ceil(done / 1048576));
    if (done >= total) {
      bar.stop();
      bar = null;
    }
  };
}

export function defaultDeps(): CliDeps {
  const progress = terminalProgress();
  return {
    ...(progress ? { progress } : {}),
    http: { transport: createFetchTransport(), timeoutMs: 15_000 },
    tools: new ProcessToolRunner(),
    env: process.env,
    tmpDir: process.env.TMPDIR ?? tmpdir(),
    cwd: process.env.INIT_CWD ?? process.cwd(),
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  runCli(process.argv.slice(2), defaultDeps()).then((code) => {
    process.exitCode = code;
  });
}
