import { spawn } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { get as httpsGet } from 'node:https';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { endpointUrl, endpoints } from '@airpanel/contract/api';
import { optionsFromCommandLine } from './cli.js';
import { testApi, useTestBackend } from './test-support.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** server-stub's CLI in a child process under tsx: its output as it comes, and its exit code. */
function startCli(args: string[], env: Record<string, string> = {}) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'server-stub/src/cli.ts', ...args], {
    cwd: repoRoot,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output = { stdout: '', stderr: '' };
  child.stdout.on('data', (chunk: Buffer) => (output.stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output.stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    output,
    exited,
    /** The first capture of `pattern` in what the CLI printed on stderr, once it is there. */
    async printed(pattern: RegExp, timeoutMs: number): Promise<string> {
      const end = Date.now() + timeoutMs;
      for (;;) {
        const match = pattern.exec(output.stderr);
        if (match) return match[1]!;
        if (Date.now() > end) throw new Error(`no start within ${timeoutMs / 1000} s: ${output.stderr}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
    /** SIGKILL unless it exited already. */
    kill(): void {
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}

describe('command line', () => {
  it('reads flags, falls back to AIRPANEL_* variables, and refuses nonsense', () => {
    const parsed = optionsFromCommandLine(['--port', '9000', '--mqtt-port', '0', '--data-dir', '/tmp/x'], {
      AIRPANEL_PORT: '1',
      AIRPANEL_REFRESH_INTERVAL: '5',
      AIRPANEL_ADMIN_TOKEN: 't'.repeat(30),
    });
    expect(parsed.help).toBe(false);
    if (parsed.help) return;
    expect(parsed.options).toMatchObject({
      port: 9000,
      dataDir: '/tmp/x',
      refreshIntervalSeconds: 5,
      adminToken: 't'.repeat(30),
      mqtt: { mode: 'embedded', port: 0 },
    });

    const external = optionsFromCommandLine(['--mqtt-url', 'mqtts://broker:8883'], { AIRPANEL_MQTT_PASSWORD: 'secret' });
    expect(!external.help && external.options.mqtt).toEqual({
      mode: 'external',
      url: 'mqtts://broker:8883',
      username: 'airpanel-backend',
      password: 'secret',
      publicUrl: undefined,
      credentials: 'dynsec',
    });
    const none = optionsFromCommandLine(['--mqtt-mode', 'none'], {});
    expect(!none.help && none.options.mqtt).toEqual({ mode: 'none' });
    expect(optionsFromCommandLine(['--help'], {})).toEqual({ help: true });

    expect(() => optionsFromCommandLine(['--port', 'eighty'], {})).toThrow(/--port must be a whole number/);
    expect(() => optionsFromCommandLine(['--refresh-interval', '0'], {})).toThrow(/from 1 to 86400/);
    expect(() => optionsFromCommandLine(['--mqtt-mode', 'carrier-pigeon'], {})).toThrow(/embedded, external or none/);
    expect(() => optionsFromCommandLine(['--bogus'], {})).toThrow();
  });
});

describe('transport security on the command line', () => {
  it('refuses plain HTTP or MQTT beyond loopback unless --allow-insecure-transport, and then warns', () => {
    expect(() => optionsFromCommandLine(['--public-url', 'http://panels.example.org'], {})).toThrow(
      /refusing to start without encryption: panels are told to use http:\/\/panels\.example\.org/,
    );
    expect(() => optionsFromCommandLine(['--host', '0.0.0.0'], {})).toThrow(/the API listens on 0\.0\.0\.0 over plain HTTP/);
    expect(() => optionsFromCommandLine(['--mqtt-public-url', 'mqtt://panels.example.org:1883'], {})).toThrow(/MQTT without TLS/);
    expect(() => optionsFromCommandLine(['--mqtt-url', 'mqtt://broker.example.org:1883'], {})).toThrow(
      /joins mqtt:\/\/broker\.example\.org:1883 without TLS/,
    );

    const allowed = optionsFromCommandLine(['--public-url', 'http://panels.example.org', '--allow-insecure-transport'], {});
    expect(!allowed.help && allowed.warnings).toEqual([expect.stringMatching(/^INSECURE TRANSPORT.*http:\/\/panels\.example\.org/)]);
    const byEnv = optionsFromCommandLine(['--host', '0.0.0.0'], { AIRPANEL_ALLOW_INSECURE_TRANSPORT: '1' });
    expect(!byEnv.help && byEnv.warnings.length).toBeGreaterThan(0);

    // Loopback stays plain without a word; a TLS-terminating proxy in front is fine too.
    const local = optionsFromCommandLine([], {});
    expect(!local.help && local.warnings).toEqual([]);
    const proxied = optionsFromCommandLine(
      ['--public-url', 'https://panels.example.org', '--mqtt-public-url', 'mqtts://panels.example.org:8883'],
      {},
    );
    expect(!proxied.help && proxied.warnings).toEqual([]);
  });

  it('takes the certificate, key and CA directory from flags or AIRPANEL_TLS_*, and both or neither of cert and key', () => {
    const flags = optionsFromCommandLine(
      ['--tls-cert', '/etc/a/cert.pem', '--tls-key', '/etc/a/key.pem', '--host', '0.0.0.0', '--public-url', 'https://panels.example.org'],
      {},
    );
    expect(!flags.help && flags.options.tls).toEqual({ certFile: '/etc/a/cert.pem', keyFile: '/etc/a/key.pem' });
    expect(!flags.help && flags.warnings).toEqual([]);
    const env = optionsFromCommandLine([], { AIRPANEL_TLS_CA_DIR: '/var/lib/airpanel/ca' });
    expect(!env.help && env.options.tls).toEqual({ caDir: '/var/lib/airpanel/ca' });
    expect(() => optionsFromCommandLine(['--tls-cert', 'c.pem'], {})).toThrow(/--tls-cert and --tls-key together/);
  });

  it('the CLI exits 2 with the reason when asked to serve plain HTTP to the outside', async () => {
    const cli = startCli(['--public-url', 'http://panels.example.org', '--port', '0']);
    expect(await cli.exited).toBe(2);
    expect(cli.output.stderr).toMatch(/refusing to start without encryption/);
    expect(cli.output.stderr).toMatch(/--allow-insecure-transport/);
  });
});

describe('the CLI with a private CA', () => {
  /** Only its data dir: the backend here is the CLI in a child process. */
  const server = useTestBackend();

  it("creates the CA at first start, serves HTTPS, prints the certificate's names and expiry, and exits 0 on SIGTERM", async () => {
    const caDir = path.join(server.dir, 'ca');
    const cli = startCli(['--data-dir', server.dir, '--port', '0', '--mqtt-port', '0', '--tls-ca-dir', caDir], {
      AIRPANEL_LOG_LEVEL: 'warn',
    });
    try {
      const url = await cli.printed(/Airpanel backend on (https:\/\/\S+)[\s\S]*TLS 1\.2\+/, 20_000);
      const stderr = cli.output.stderr;
      expect(stderr).toMatch(/MQTT for panels: mqtts:\/\/127\.0\.0\.1:\d+/);
      expect(stderr).toMatch(
        /TLS 1\.2\+ with a certificate for 127\.0\.0\.1, localhost \(issued by the private CA\), expires \d{4}-\d\d-\d\dT/,
      );
      expect(statSync(path.join(caDir, 'ca.key')).mode & 0o777).toBe(0o600);
      const status = await new Promise<number>((resolve, reject) => {
        httpsGet(endpointUrl(url, endpoints.getHealth), { ca: readFileSync(path.join(caDir, 'ca.pem')) }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        }).once('error', reject);
      });
      expect(status).toBe(200);
      cli.child.kill('SIGTERM');
      expect(await cli.exited).toBe(0);
    } finally {
      cli.kill();
    }
  });
});

describe('shutdown', () => {
  const server = useTestBackend();

  it('loses no acknowledged write when closed with requests in flight', async () => {
    const backend = await server.start();
    const api = server.api;
    await api.admin.call('createSensorSource', { body: { id: 'sim-c', name: 'Sim', spec: { kind: 'simulated' } } });
    await api.admin.call('createPanel', { body: { id: 'panel-c', name: 'C', sensorSourceId: 'sim-c' } });
    const base = Date.parse('2026-02-01T00:00:00Z');
    let next = 0;
    let accepted = 0;
    let firstAccepted: () => void;
    const someAccepted = new Promise<void>((resolve) => (firstAccepted = resolve));
    // Four clients post readings until the server stops answering them.
    const worker = async () => {
      for (;;) {
        const i = next++;
        const answer = await api('postReading', {
          params: { sensorId: 'sim-c' },
          token: backend.adminToken,
          body: { values: { pm25: i % 500 }, measuredAt: new Date(base + i * 1000).toISOString() },
        }).catch(() => null);
        if (answer?.status !== 201) return;
        accepted++;
        firstAccepted();
      }
    };
    const workers = Promise.all([worker(), worker(), worker(), worker()]);
    await someAccepted;
    await backend.close();
    await workers;
    expect(accepted).toBeGreaterThan(0);

    await server.restart();
    const stored = await server.api.admin.call('listReadings', { params: { sensorId: 'sim-c' }, query: { limit: 100 } });
    await server.stop();
    expect(stored.length).toBeGreaterThanOrEqual(accepted);
  });

  it('the CLI starts, prints where it listens, and exits 0 on SIGTERM after closing everything', async () => {
    const cli = startCli(['--data-dir', server.dir, '--port', '0', '--mqtt-port', '0'], { AIRPANEL_LOG_LEVEL: 'info' });
    try {
      const url = await cli.printed(/Airpanel backend on (http:\/\/\S+)/, 15_000);
      expect(cli.output.stderr).toContain(`Admin token in ${path.join(server.dir, 'admin-token')}`);
      expect((await testApi(url)('getHealth')).status).toBe(200);
      cli.child.kill('SIGTERM');
      expect(await cli.exited).toBe(0);
      expect(cli.output.stdout).toContain('"message":"backend stopped"');
    } finally {
      cli.kill();
    }
  });
});
