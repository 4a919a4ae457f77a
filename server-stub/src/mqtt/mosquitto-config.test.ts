import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BACKEND_ROLE_NAME, hashDynsecPassword } from './dynsec.js';
import { runMosquittoConfigCli } from './mosquitto-cli.js';
import { DEFAULT_DYNSEC_PLUGIN_PATH } from './dynsec.js';
import { renderMosquittoConf, writeMosquittoDeployment } from './mosquitto-config.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airpanel-mosquitto-config-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const mode = async (path: string) => (await stat(path)).mode & 0o777;

describe('mosquitto deployment generator', () => {
  it('hashes passwords exactly like `mosquitto_ctrl dynsec init` (vector taken from Mosquitto 2.0.11)', () => {
    const hash = hashDynsecPassword('secretpw', 101, Buffer.from('nQQ8+jN+hKPq94s+', 'base64'));
    expect(hash).toEqual({
      password: 'GX2FJuBUHf6juMn3CEPeZbz7Goc6mGZGbJoNbp6gmMnJ29yPLl4TVBBughWltIX4bn7z7zTlGheADse+Gcetng==',
      salt: 'nQQ8+jN+hKPq94s+',
      iterations: 101,
    });
  });

  it('writes mosquitto.conf and a private dynsec file with the backend as its only client', async () => {
    const written = await writeMosquittoDeployment({
      outDir: dir,
      port: 1884,
      backendUsername: 'backend',
      backendPassword: 'a-long-enough-password',
    });
    const conf = await readFile(written.confPath, 'utf8');
    expect(conf).toContain('allow_anonymous false');
    // Without it every dynsec answer and small document waited ~40 ms (Nagle + delayed ACK).
    expect(conf).toContain('set_tcp_nodelay true\n');
    expect(conf).toContain('listener 1884\n');
    expect(conf).toContain(`plugin_opt_config_file ${written.dynsecPath}`);
    expect(conf).toContain(`persistence_location ${join(dir, 'data')}/`);
    expect(await mode(written.dynsecPath)).toBe(0o600);

    const dynsec = JSON.parse(await readFile(written.dynsecPath, 'utf8')) as {
      clients: Array<{ username: string; clientid: string; roles: Array<{ rolename: string }> }>;
      defaultACLAccess: Record<string, boolean>;
    };
    expect(dynsec.clients.map((c) => [c.username, c.clientid, c.roles])).toEqual([
      ['backend', 'airpanel-backend', [{ rolename: BACKEND_ROLE_NAME }]],
    ]);
    expect(dynsec.defaultACLAccess).toMatchObject({ publishClientSend: false, subscribe: false });
  });

  it('never overwrites an existing dynsec file (it holds the panel accounts)', async () => {
    const first = await writeMosquittoDeployment({ outDir: dir, backendUsername: 'backend', backendPassword: 'a-long-enough-password' });
    await writeFile(first.dynsecPath, '{"kept":true}');
    const second = await writeMosquittoDeployment({ outDir: dir, backendUsername: 'backend', backendPassword: 'another-long-password' });
    expect(second.dynsecCreated).toBe(false);
    expect(await readFile(second.dynsecPath, 'utf8')).toBe('{"kept":true}');
  });

  it('matches the shipped example in server-stub/mosquitto/', async () => {
    const shipped = await readFile(new URL('../../mosquitto/mosquitto.conf.example', import.meta.url), 'utf8');
    const dataDir = '/var/lib/airpanel-mosquitto';
    const rendered = renderMosquittoConf({
      port: 1883,
      dataDir,
      dynsecPath: `${dataDir}/dynamic-security.json`,
      pluginPath: DEFAULT_DYNSEC_PLUGIN_PATH,
      runAsUser: 'mosquitto',
    });
    expect(shipped).toBe(rendered);
  });

  it('refuses a short backend password', async () => {
    await expect(writeMosquittoDeployment({ outDir: dir, backendUsername: 'backend', backendPassword: 'short' })).rejects.toThrow(
      /at least 16/,
    );
  });
});

describe('mosquitto-config CLI', () => {
  it('generates a backend password into a 0600 file when none is given', async () => {
    const lines: string[] = [];
    const code = await runMosquittoConfigCli(['--out', dir, '--port', '11883'], { env: {}, out: (l) => lines.push(l) });
    expect(code).toBe(0);
    const passwordFile = join(dir, 'backend-password');
    expect(await mode(passwordFile)).toBe(0o600);
    expect((await readFile(passwordFile, 'utf8')).trim()).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(await readFile(join(dir, 'mosquitto.conf'), 'utf8')).toContain('listener 11883\n');
    expect(lines.join('\n')).toContain('backend-password');
  });

  it('takes the password from the environment and explains bad arguments', async () => {
    const lines: string[] = [];
    const io = { env: { AIRPANEL_MQTT_BACKEND_PASSWORD: 'from-the-environment-123' }, out: (l: string) => lines.push(l) };
    expect(await runMosquittoConfigCli(['--out', dir], io)).toBe(0);
    await expect(stat(join(dir, 'backend-password'))).rejects.toThrow();
    expect(await runMosquittoConfigCli(['--port', '80'], io)).toBe(2);
    expect(await runMosquittoConfigCli(['--out', dir, '--port', 'x'], io)).toBe(2);
    expect(await runMosquittoConfigCli(['--out', dir, '--bogus'], io)).toBe(2);
    expect(lines.filter((l) => l.startsWith('error:'))).toHaveLength(3);
  });

  it("adds a TLS listener for panels from the backend's CA directory, and explains what is missing", async () => {
    const lines: string[] = [];
    const io = { env: { AIRPANEL_MQTT_BACKEND_PASSWORD: 'from-the-environment-123' }, out: (l: string) => lines.push(l) };
    expect(
      await runMosquittoConfigCli(
        ['--out', dir, '--bind', '127.0.0.1', '--tls-port', '8883', '--tls-ca-dir', '/var/lib/airpanel/ca', '--require-certificate'],
        io,
      ),
    ).toBe(0);
    const conf = await readFile(join(dir, 'mosquitto.conf'), 'utf8');
    expect(conf).toContain('listener 1883 127.0.0.1\n');
    expect(conf).toContain(
      [
        'listener 8883',
        'certfile /var/lib/airpanel/ca/server.pem',
        'keyfile /var/lib/airpanel/ca/server.key',
        'cafile /var/lib/airpanel/ca/ca.pem',
        'tls_version tlsv1.2',
      ].join('\n'),
    );
    expect(conf).toContain('use_identity_as_username true\n');
    expect(conf).toContain('crlfile /var/lib/airpanel/ca/crl.pem\n');
    expect(await runMosquittoConfigCli(['--out', dir, '--tls-port', '8883'], io)).toBe(2);
    expect(await runMosquittoConfigCli(['--out', dir, '--tls-ca-dir', '/x'], io)).toBe(2);
    expect(await runMosquittoConfigCli(['--out', dir, '--tls-port', '1883', '--tls-ca-dir', '/x'], io)).toBe(2);
  });
});
