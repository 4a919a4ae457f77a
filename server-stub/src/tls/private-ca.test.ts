import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../logger.js';
import { CA_FILES, CLIENT_VALIDITY_DAYS, PrivateCa, SERVER_RENEW_BEFORE_DAYS, SERVER_VALIDITY_DAYS } from './private-ca.js';
import { createCertificateRequest, generateKeyPair, serialOf } from './x509.js';

const DAY_MS = 86_400_000;
let dir: string;
let now: number;
const clock = { now: () => now };

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airpanel-ca-'));
  now = Date.parse('2026-03-01T12:00:00Z');
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const open = (serverNames = ['panels.example.org', '192.0.2.10']) => PrivateCa.open({ dir, serverNames, clock, logger: silentLogger });
const mode = async (file: string) => (await stat(join(dir, file))).mode & 0o777;

describe('private CA', () => {
  it('creates a CA (key 0600) and a server certificate for the given names, localhost and 127.0.0.1', async () => {
    const ca = await open();
    expect(await mode(CA_FILES.caKey)).toBe(0o600);
    expect(await mode(CA_FILES.serverKey)).toBe(0o600);
    const caCert = new X509Certificate(ca.caCertificatePem);
    expect(caCert.ca).toBe(true);
    expect(caCert.verify(caCert.publicKey)).toBe(true);
    const server = new X509Certificate(ca.serverCredentials.cert);
    expect(server.checkIssued(caCert)).toBe(true);
    expect(server.verify(caCert.publicKey)).toBe(true);
    expect(server.ca).toBe(false);
    expect(server.checkHost('panels.example.org')).toBe('panels.example.org');
    expect(server.checkHost('localhost')).toBe('localhost');
    expect(server.checkIP('192.0.2.10')).toBe('192.0.2.10');
    expect(server.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(server.checkHost('other.example.org')).toBeUndefined();
    expect(server.keyUsage).toContain('1.3.6.1.5.5.7.3.1');
    expect(Date.parse(server.validTo)).toBeCloseTo(now + SERVER_VALIDITY_DAYS * DAY_MS, -4);
  });

  it('keeps the CA and the server certificate across restarts, and renews the server certificate before it expires with the same CA', async () => {
    const first = await open();
    const reopened = await open();
    expect(reopened.caCertificatePem).toBe(first.caCertificatePem);
    expect(reopened.serverCredentials.cert).toBe(first.serverCredentials.cert);

    now += (SERVER_VALIDITY_DAYS - SERVER_RENEW_BEFORE_DAYS - 1) * DAY_MS;
    expect(await reopened.renewServerCertificateIfDue()).toBe(false);
    now += 2 * DAY_MS;
    expect(await reopened.renewServerCertificateIfDue()).toBe(true);
    const renewed = new X509Certificate(reopened.serverCredentials.cert);
    expect(reopened.caCertificatePem).toBe(first.caCertificatePem);
    expect(renewed.checkIssued(new X509Certificate(first.caCertificatePem))).toBe(true);
    expect(Date.parse(renewed.validTo)).toBeGreaterThan(Date.parse(new X509Certificate(first.serverCredentials.cert).validTo));
    expect(await readFile(join(dir, CA_FILES.serverCert), 'utf8')).toBe(reopened.serverCredentials.cert);
    // A restart well after expiry renews at start, same CA.
    now += 200 * DAY_MS;
    const late = await open();
    expect(late.caCertificatePem).toBe(first.caCertificatePem);
    expect(Date.parse(new X509Certificate(late.serverCredentials.cert).validTo)).toBeGreaterThan(now);
  });

  it('reissues the server certificate when a new public name appears', async () => {
    await open(['a.example.org']);
    const ca = await open(['a.example.org', 'b.example.org']);
    expect(new X509Certificate(ca.serverCredentials.cert).checkHost('b.example.org')).toBe('b.example.org');
  });

  it('refuses a CA key readable by others', async () => {
    await open();
    const { chmod } = await import('node:fs/promises');
    await chmod(join(dir, CA_FILES.caKey), 0o644);
    await expect(open()).rejects.toThrow(/readable by others/);
  });

  it('signs a panel CSR as CN = panel id with clientAuth, and revokes the previous certificate', async () => {
    const ca = await open();
    const keys = await generateKeyPair();
    // The CN asked for is ignored: the CA names the panel itself.
    const csr = await createCertificateRequest(keys, 'someone-else');
    const first = await ca.signPanelCertificate('pnl-0001', csr);
    const cert = new X509Certificate(first.certificatePem);
    expect(cert.subject).toBe('CN=pnl-0001');
    expect(cert.keyUsage).toEqual(['1.3.6.1.5.5.7.3.2']);
    expect(cert.checkIssued(new X509Certificate(ca.caCertificatePem))).toBe(true);
    expect(Date.parse(cert.validTo)).toBeCloseTo(now + CLIENT_VALIDITY_DAYS * DAY_MS, -4);
    expect(serialOf(first.certificatePem)).toBe(first.serial);
    expect(ca.isCurrentPanelCertificate('pnl-0001', cert.serialNumber)).toBe(true);

    const second = await ca.signPanelCertificate('pnl-0001', csr);
    expect(ca.isCurrentPanelCertificate('pnl-0001', first.serial)).toBe(false);
    expect(ca.isCurrentPanelCertificate('pnl-0001', second.serial)).toBe(true);
    await ca.revokePanel('pnl-0001');
    expect(ca.isCurrentPanelCertificate('pnl-0001', second.serial)).toBe(false);
    expect(ca.panelHasCertificate('pnl-0001')).toBe(false);
    // The record survives a restart, and the CRL lists both serials.
    const reopened = await open();
    expect(reopened.isCurrentPanelCertificate('pnl-0001', second.serial)).toBe(false);
    const crl = await readFile(join(dir, CA_FILES.crl), 'utf8');
    expect(crl).toMatch(/^-----BEGIN X509 CRL-----/);
    expect(await mode(CA_FILES.panelCertificates)).toBe(0o600);
  });

  it('refuses a CSR that is not signed by its key, or is not a CSR', async () => {
    const ca = await open();
    const csr = await createCertificateRequest(await generateKeyPair(), 'x');
    const body = csr.split('\n');
    // Flip one character inside the signature (the last base64 line before END).
    const last = body.length - 3;
    body[last] = body[last]!.replace(/[A-Za-z]/, (c) => (c === 'A' ? 'B' : 'A'));
    await expect(ca.signPanelCertificate('pnl-0002', body.join('\n'))).rejects.toThrow();
    await expect(ca.signPanelCertificate('pnl-0002', 'hello')).rejects.toThrow(/not a PEM certificate request/);
    expect(ca.panelHasCertificate('pnl-0002')).toBe(false);
  });
});
