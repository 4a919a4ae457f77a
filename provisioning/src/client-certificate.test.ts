import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { checkClientCertificate, makeClientKeyAndRequest } from './client-certificate.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('client key and certificate request', () => {
  it('makes a P-256 key and a CSR that openssl verifies, and checks the signed certificate against that key and the panel id', async () => {
    const d = mkdtempSync(join(tmpdir(), 'airpanel-csr-'));
    dirs.push(d);
    const { keyPem, requestPem } = await makeClientKeyAndRequest('pnl-0042');
    writeFileSync(join(d, 'req.pem'), requestPem);
    writeFileSync(join(d, 'key.pem'), keyPem);
    const text = execFileSync('openssl', ['req', '-in', join(d, 'req.pem'), '-noout', '-verify', '-subject'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    expect(text).toMatch(/subject=CN ?= ?pnl-0042/);

    // A CA made with openssl signs it (subject from the CSR: CN = pnl-0042).
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
        join(d, 'ca.key'),
        '-out',
        join(d, 'ca.pem'),
        '-subj',
        '/CN=test CA',
      ],
      { stdio: 'ignore' },
    );
    execFileSync(
      'openssl',
      [
        'x509',
        '-req',
        '-in',
        join(d, 'req.pem'),
        '-CA',
        join(d, 'ca.pem'),
        '-CAkey',
        join(d, 'ca.key'),
        '-CAcreateserial',
        '-days',
        '1',
        '-out',
        join(d, 'good.pem'),
      ],
      { stdio: 'ignore' },
    );
    const good = readFileSync(join(d, 'good.pem'), 'utf8');
    expect(() => checkClientCertificate(good, keyPem, 'pnl-0042')).not.toThrow();
    expect(() => checkClientCertificate(good, keyPem, 'pnl-0043')).toThrow(/not CN=pnl-0043/);
    const other = await makeClientKeyAndRequest('pnl-0042');
    expect(() => checkClientCertificate(good, other.keyPem, 'pnl-0042')).toThrow(/not for the key made here/);
    expect(() => checkClientCertificate('nonsense', keyPem, 'pnl-0042')).toThrow(/not a certificate/);
  });
});
