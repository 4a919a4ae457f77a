// The technician's flow against a backend with a private CA: `register --client-cert` over
// HTTPS (the CA given to Node), the answer's CA and certificate saved in panel.json, and
// `inject` writing them beside it with the right modes; the written files then open the API.
import { spawn } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { request } from 'node:https';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PanelConfig } from '@airpanel/contract';
import { createFetchTransport, endpointUrl, endpoints } from '@airpanel/contract/api';
import { runCli, type CliDeps } from '@airpanel/provisioning/cli';
import { ProcessToolRunner } from '@airpanel/provisioning/tools';
import type { Backend } from '@airpanel/backend/backend';
import { makeTempDir } from '@airpanel/backend/test-support';
import { Cleanups, startBackend } from './harness/index.js';

const repoRoot = resolve(fileURLToPath(new URL('.', import.meta.url)), '..');
const temp = makeTempDir('airpanel-tls-provisioning-');
let backend: Backend;
const cleanups = new Cleanups();
let caFile: string;

function provision(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'provisioning/src/cli.ts', ...args], {
    cwd: repoRoot,
    env: { ...process.env, AIRPANEL_ADMIN_TOKEN: backend.adminToken, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolveExit) => child.once('exit', (code) => resolveExit({ code, stdout, stderr })));
}

const mode = (file: string) => statSync(file).mode & 0o777;

beforeAll(async () => {
  const started = await startBackend({
    mode: 'in-process',
    cleanups,
    dataDir: join(temp.dir, 'backend'),
    mqtt: { mode: 'embedded', port: 0 },
    adminToken: null,
    backend: { tls: { caDir: join(temp.dir, 'backend', 'ca') }, startLoops: false, releaseFeed: false },
  });
  backend = started.backend;
  caFile = join(temp.dir, 'backend', 'ca', 'ca.pem');
});

afterAll(async () => {
  await cleanups.run();
  temp.remove();
});

describe('provisioning a panel against a backend with a private CA', () => {
  it('register --client-cert saves the CA, certificate and key in panel.json and writes them beside it (key and certificate 0600); they open the API', async () => {
    const dataDir = join(temp.dir, 'card', 'airpanel');
    const saved = join(temp.dir, 'panel-pnl-tls.json');
    const run = await provision(
      ['register', '--api', backend.url, '--name', 'Over TLS', '--id', 'pnl-tls', '--client-cert', '--out', saved, '--data-dir', dataDir],
      { NODE_EXTRA_CA_CERTS: caFile },
    );
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('and ca.pem, client.pem, client.key');

    // The saved answer holds everything, as PEM text, readable by its owner only.
    expect(mode(saved)).toBe(0o600);
    const kept = PanelConfig.parse(JSON.parse(readFileSync(saved, 'utf8')));
    expect(kept.caFile).toBe(readFileSync(caFile, 'utf8'));
    expect(kept.clientCertFile).toMatch(/^-----BEGIN CERTIFICATE-----/);
    expect(kept.clientKeyFile).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    expect(kept.endpoints.apiBaseUrl).toMatch(/^https:/);
    expect(kept.endpoints.mqttUrl).toMatch(/^mqtts:/);

    // On the card: files with their modes, panel.json naming their paths on the panel.
    const written = PanelConfig.parse(JSON.parse(readFileSync(join(dataDir, 'panel.json'), 'utf8')));
    expect(written).toMatchObject({
      caFile: '/data/airpanel/ca.pem',
      clientCertFile: '/data/airpanel/client.pem',
      clientKeyFile: '/data/airpanel/client.key',
      mqttCaFile: null,
    });
    expect([
      mode(join(dataDir, 'panel.json')),
      mode(join(dataDir, 'ca.pem')),
      mode(join(dataDir, 'client.pem')),
      mode(join(dataDir, 'client.key')),
    ]).toEqual([0o600, 0o644, 0o600, 0o600]);
    expect(readFileSync(join(dataDir, 'ca.pem'), 'utf8')).toBe(readFileSync(caFile, 'utf8'));

    // The files as the panel would use them: its certificate, key and API key over HTTPS.
    const status = await new Promise<number>((resolveStatus, reject) => {
      const req = request(
        new URL(endpointUrl(backend.url, endpoints.getDisplay, { panelId: 'pnl-tls' })),
        {
          ca: readFileSync(join(dataDir, 'ca.pem')),
          cert: readFileSync(join(dataDir, 'client.pem')),
          key: readFileSync(join(dataDir, 'client.key')),
          headers: { authorization: `Bearer ${written.apiKey}` },
          agent: false,
        },
        (res) => {
          res.resume();
          resolveStatus(res.statusCode ?? 0);
        },
      );
      req.once('error', reject);
      req.end();
    });
    expect(status).toBe(200);

    // inject of the saved file elsewhere (a second card) writes the same files.
    const second = join(temp.dir, 'card2', 'airpanel');
    const out: string[] = [];
    const err: string[] = [];
    const deps: CliDeps = {
      http: { transport: createFetchTransport(), timeoutMs: 5_000 },
      tools: new ProcessToolRunner(30_000),
      env: {},
      tmpDir: temp.dir,
      cwd: temp.dir,
      out: (l) => out.push(l),
      err: (l) => err.push(l),
    };
    expect(await runCli(['inject', '--config', saved, '--data-dir', second], deps), err.join('\n')).toBe(0);
    expect(mode(join(second, 'client.key'))).toBe(0o600);
    expect(readFileSync(join(second, 'client.key'), 'utf8')).toBe(kept.clientKeyFile);
  });

  it('without the CA, register cannot reach the HTTPS backend and registers nothing', async () => {
    const run = await provision(
      ['register', '--api', backend.url, '--name', 'No CA', '--id', 'pnl-no-ca', '--out', join(temp.dir, 'no-ca.json')],
      { NODE_EXTRA_CA_CERTS: '' },
    );
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(/cannot reach the backend at https:\/\/127\.0\.0\.1:\d+: \S*(CERT|SIGNED|VERIFY)/i);
    expect(backend.panels.list().map((p) => p.id)).not.toContain('pnl-no-ca');
  });
});
