import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { PanelConfig } from '@airpanel/contract';
import { checkIdentity, injectPanel, planFiles } from './inject.js';
import { panelLabel, parseCaPem, parsePanelConfig, serializePanelConfig } from './panel-file.js';
import { panelsUrl } from './register.js';

const dirs: string[] = [];
const temp = () => {
  const d = mkdtempSync(join(tmpdir(), 'airpanel-pf-'));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const config = (id = 'pnl-0001', mqttUrl: string | null = 'mqtts://b.example.org:8883') =>
  PanelConfig.parse({
    schemaVersion: 1,
    panelId: id,
    apiKey: 'a'.repeat(40),
    name: 'Nation',
    location: { description: 'Place de la Nation' },
    endpoints: { apiBaseUrl: 'https://x.example.org/api/v1', mqttUrl, topics: { display: 'd', status: 's', commands: 'c', events: 'e' } },
  });

describe('panelsUrl', () => {
  it('accepts the base URL with or without /api/v1 and a path prefix', () => {
    expect(panelsUrl('https://x.org').href).toBe('https://x.org/api/v1/panels');
    expect(panelsUrl('https://x.org/api/v1/').href).toBe('https://x.org/api/v1/panels');
    expect(panelsUrl('http://127.0.0.1:8080/airpanel').href).toBe('http://127.0.0.1:8080/airpanel/api/v1/panels');
    expect(() => panelsUrl('x.org')).toThrow(/is not a URL/);
    expect(() => panelsUrl('ftp://x.org')).toThrow(/http\(s\) URL/);
  });
});

describe('panel.json', () => {
  it('serializes what it parses, byte for byte (property)', () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^[a-z0-9][a-z0-9-]{2,20}$/),
        fc.string({ minLength: 1, maxLength: 60 }).filter((s) => s.trim().length > 0 && !/[\u0000-\u001f\u007f]/.test(s)),
        (id, name) => {
          const bytes = serializePanelConfig({ ...config(id), name: name.trim() });
          expect(serializePanelConfig(parsePanelConfig(bytes, 'p'))).toEqual(bytes);
          expect(panelLabel(parsePanelConfig(bytes, 'p'))).toContain(id);
        },
      ),
      { numRuns: 50 },
    );
  });

  it('names the broken field', () => {
    expect(() => parsePanelConfig('{"schemaVersion":2}', 'p.json')).toThrow(/p\.json is not a valid panel\.json: schemaVersion/);
    expect(() => parsePanelConfig('nope', 'p.json')).toThrow(/p\.json is not valid JSON/);
  });

  it('prints a label with id, name and location in a box of equal lines', () => {
    const lines = panelLabel(config()).split('\n');
    expect(new Set(lines.map((l) => l.length)).size).toBe(1);
    expect(lines.join('\n')).toMatch(/panel id\s+pnl-0001[\s\S]*name\s+Nation[\s\S]*location\s+Place de la Nation/);
  });
});

describe('identity and files', () => {
  it('refuses another panel without force, accepts the same one', () => {
    const a = serializePanelConfig(config('pnl-0001'));
    expect(checkIdentity(a, 'pnl-0001', false, 'w')).toBe('pnl-0001');
    expect(() => checkIdentity(a, 'pnl-0002', false, 'w')).toThrow(/already holds panel pnl-0001/);
    expect(() => checkIdentity(a, null, false, 'w')).toThrow(/already holds panel pnl-0001/);
    expect(checkIdentity(a, 'pnl-0002', true, 'w')).toBe('pnl-0001');
    expect(checkIdentity(null, 'pnl-0002', false, 'w')).toBeNull();
  });

  it('refuses a CA for a panel without TLS', () => {
    expect(() =>
      planFiles({ config: config('pnl-0001', 'mqtt://b:1883'), brokerCa: Buffer.from('x'), force: false }, '/data/airpanel'),
    ).toThrow(/does not use TLS/);
    const plan = planFiles(
      { config: { ...config(), mqttCaFile: '/data/airpanel/broker-ca.pem' }, brokerCa: Buffer.from('pem'), force: false },
      '/data/airpanel',
    );
    // One CA for every connection: caFile names it, the older MQTT-only field is cleared.
    expect(plan.config.caFile).toBe('/data/airpanel/ca.pem');
    expect(plan.config.mqttCaFile).toBeNull();
    expect(plan.files.map((f) => [f.path, f.mode])).toEqual([
      ['ca.pem', 0o644],
      ['panel.json', 0o600],
    ]);
  });

  it('writes the CA, client certificate and key that register saved inside panel.json into their own files (key and certificate 0600)', async () => {
    const pem = (label: string) => `-----BEGIN ${label}-----\nAAAA\n-----END ${label}-----\n`;
    const saved = { ...config(), caFile: pem('CERTIFICATE'), clientCertFile: pem('CERTIFICATE'), clientKeyFile: pem('PRIVATE KEY') };
    const plan = planFiles({ config: saved, force: false }, '/data/airpanel');
    expect(plan.files.map((f) => [f.path, f.mode])).toEqual([
      ['ca.pem', 0o644],
      ['client.pem', 0o600],
      ['client.key', 0o600],
      ['panel.json', 0o600],
    ]);
    expect(plan.config).toMatchObject({
      caFile: '/data/airpanel/ca.pem',
      clientCertFile: '/data/airpanel/client.pem',
      clientKeyFile: '/data/airpanel/client.key',
    });

    const dir = join(temp(), 'data');
    const unused = {} as Parameters<typeof injectPanel>[0];
    await injectPanel(unused, { kind: 'dir', path: dir }, { config: saved, force: false });
    expect(readdirSync(dir).sort()).toEqual(['ca.pem', 'client.key', 'client.pem', 'panel.json']);
    expect(statSync(join(dir, 'client.key')).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'client.pem')).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'ca.pem')).mode & 0o777).toBe(0o644);
    expect(readFileSync(join(dir, 'client.key'), 'utf8')).toBe(pem('PRIVATE KEY'));
    expect(parsePanelConfig(readFileSync(join(dir, 'panel.json')), 'panel.json').clientKeyFile).toBe('/data/airpanel/client.key');

    expect(() => planFiles({ config: { ...saved, clientKeyFile: null }, force: false }, '/data/airpanel')).toThrow(/without its key/);
  });

  it('injects into a data dir that does not exist yet: asked modes, no temp file left', async () => {
    const d = temp();
    const dir = join(d, 'sub');
    const unused = {} as Parameters<typeof injectPanel>[0]; // a dir target opens no partition
    await injectPanel(unused, { kind: 'dir', path: dir }, { config: config(), force: false });
    await injectPanel(unused, { kind: 'dir', path: dir }, { config: config(), force: false });
    expect(parsePanelConfig(readFileSync(join(dir, 'panel.json')), 'panel.json').panelId).toBe(config().panelId);
    expect(statSync(join(dir, 'panel.json')).mode & 0o777).toBe(0o600);
    expect(readdirSync(dir)).toEqual(['panel.json']);
  });

  it('accepts only CA certificates as the broker CA', () => {
    const d = temp();
    const mk = (name: string, ca: boolean) => {
      execFileSync(
        'openssl',
        [
          'req',
          '-x509',
          '-newkey',
          'ec',
          '-pkeyopt',
          'ec_paramgen_curve:P-256',
          '-nodes',
          '-days',
          '1',
          '-keyout',
          join(d, `${name}.key`),
          '-out',
          join(d, `${name}.pem`),
          '-subj',
          `/CN=${name}`,
          '-addext',
          `basicConstraints=critical,CA:${ca ? 'TRUE' : 'FALSE'}`,
        ],
        { stdio: 'ignore' },
      );
      return readFileSync(join(d, `${name}.pem`));
    };
    expect(parseCaPem(mk('ca', true), 'ca.pem').toString()).toMatch(/^-----BEGIN CERTIFICATE-----/);
    expect(() => parseCaPem(mk('leaf', false), 'leaf.pem')).toThrow(/is not a CA certificate/);
    expect(() => parseCaPem(Buffer.from('hello'), 'x.pem')).toThrow(/holds no PEM certificate/);
  });
});
