import { createPrivateKey, X509Certificate } from 'node:crypto';
import { mkdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '@airpanel/node-support/atomic-file';
import { z } from 'zod';
import type { Clock } from '../clock.js';
import type { Logger } from '../logger.js';
import {
  createCertificate,
  createRevocationList,
  generateKeyPair,
  importPrivateKeyPem,
  normalizeSerial,
  privateKeyToPem,
  randomSerial,
  readCertificateRequest,
  type Issuer,
} from './x509.js';

/** File names inside `--tls-ca-dir`. */
export const CA_FILES = {
  caKey: 'ca.key',
  caCert: 'ca.pem',
  serverKey: 'server.key',
  serverCert: 'server.pem',
  /** Current client certificate serial per panel, and the revoked ones still unexpired. */
  panelCertificates: 'panel-certificates.json',
  /** The revoked serials as a CRL for Mosquitto's `crlfile`. */
  crl: 'crl.pem',
} as const;

const DAY_MS = 86_400_000;
export const CA_VALIDITY_DAYS = 3_650;
export const SERVER_VALIDITY_DAYS = 90;
/** The server certificate is replaced once it has less than this left. */
export const SERVER_RENEW_BEFORE_DAYS = 30;
/**
 * Panel certificates last a year: long enough that a panel on a pole need not come back to
 * the workshop between visits, short enough that a lost card stops mattering. Revocation
 * (delete, key rotation) works at once anyway.
 */
export const CLIENT_VALIDITY_DAYS = 365;
/** Certificates start a little in the past: a panel whose clock lags must not see "not yet valid". */
const BACKDATE_MS = 60 * 60_000;

const PanelCertificates = z.object({
  current: z.record(z.string(), z.object({ serial: z.string(), notAfter: z.string() })),
  revoked: z.array(z.object({ serial: z.string(), panelId: z.string(), revokedAt: z.string(), notAfter: z.string() })),
});
type PanelCertificates = z.infer<typeof PanelCertificates>;

export interface PrivateCaOptions {
  dir: string;
  /** Host names and IP addresses the server certificate names (localhost and 127.0.0.1 are added). */
  serverNames: string[];
  clock: Clock;
  logger: Logger;
}

export interface ServerCredentials {
  cert: string;
  key: string;
  names: string[];
  notAfter: Date;
}

export interface IssuedClientCertificate {
  certificatePem: string;
  serial: string;
  notAfter: Date;
}

async function readIfExists(path: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

/** Names of a certificate's subjectAltName ("DNS:a, IP Address:1.2.3.4"), sorted. */
export function certificateNames(cert: X509Certificate): string[] {
  return (cert.subjectAltName ?? '')
    .split(', ')
    .filter(Boolean)
    .map((entry) => entry.replace(/^(DNS|IP Address):/, ''))
    .sort();
}

/**
 * The backend's private CA in a directory: created at first start (key mode 0600), a server
 * certificate for the backend's names renewed before it expires (same CA), panel client
 * certificates signed from CSRs, and the record of which certificate is each panel's current
 * one. Only a panel's current certificate is accepted: deleting a panel or rotating its key
 * drops it, and its serial goes on the CRL for Mosquitto.
 */
export class PrivateCa {
  private constructor(
    private readonly options: PrivateCaOptions,
    private readonly issuer: Issuer & { certificatePem: string },
    private server: ServerCredentials,
    private panels: PanelCertificates,
  ) {}

  static async open(options: PrivateCaOptions): Promise<PrivateCa> {
    const { dir, logger } = options;
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const now = new Date(options.clock.now());
    let keyPem = await readIfExists(join(dir, CA_FILES.caKey));
    let certPem = await readIfExists(join(dir, CA_FILES.caCert));
    if ((keyPem === null) !== (certPem === null)) {
      throw new Error(
        `${dir} holds only one of ${CA_FILES.caKey} and ${CA_FILES.caCert}: restore the other, or empty the directory to make a new CA (every panel then needs the new CA)`,
      );
    }
    if (keyPem === null || certPem === null) {
      const keys = await generateKeyPair();
      // Dated and with a random tag: two CAs (a test one, a rebuilt one) never share a name.
      const commonName = `Airpanel private CA ${now.toISOString().slice(0, 10)} ${randomSerial().slice(0, 8)}`;
      certPem = await createCertificate({
        serial: randomSerial(),
        commonName,
        publicKey: keys.publicKey,
        selfSignKey: keys.privateKey,
        notBefore: new Date(now.getTime() - BACKDATE_MS),
        notAfter: new Date(now.getTime() + CA_VALIDITY_DAYS * DAY_MS),
        ca: true,
      });
      keyPem = await privateKeyToPem(keys.privateKey);
      await writeFileAtomic(join(dir, CA_FILES.caKey), keyPem, { mode: 0o600 });
      await writeFileAtomic(join(dir, CA_FILES.caCert), certPem, { mode: 0o644 });
      logger.info('tls: created a private CA', { dir, subject: commonName });
    } else {
      const mode = (await stat(join(dir, CA_FILES.caKey))).mode & 0o077;
      if (mode !== 0)
        throw new Error(
          `${join(dir, CA_FILES.caKey)} is readable by others (mode ${((await stat(join(dir, CA_FILES.caKey))).mode & 0o777).toString(8)}): chmod 600 it`,
        );
    }
    const caCert = new X509Certificate(certPem);
    const commonName = /^CN=(.*)$/.exec(caCert.subject)?.[1];
    if (!commonName) throw new Error(`${join(dir, CA_FILES.caCert)} is not a CA this backend made (subject ${caCert.subject})`);
    const issuer = { commonName, privateKey: await importPrivateKeyPem(keyPem), certificatePem: certPem };

    const recordText = await readIfExists(join(dir, CA_FILES.panelCertificates));
    const panels = recordText === null ? { current: {}, revoked: [] } : PanelCertificates.parse(JSON.parse(recordText));
    const placeholder: ServerCredentials = { cert: '', key: '', names: [], notAfter: new Date(0) };
    const ca = new PrivateCa(options, issuer, placeholder, panels);
    await ca.loadOrIssueServerCertificate();
    await ca.writeRevocationList();
    return ca;
  }

  get caCertificatePem(): string {
    return this.issuer.certificatePem;
  }

  get serverCredentials(): ServerCredentials {
    return this.server;
  }

  get revocationListFile(): string {
    return join(this.options.dir, CA_FILES.crl);
  }

  private wantedNames(): string[] {
    return [...new Set(['localhost', '127.0.0.1', ...this.options.serverNames])].sort();
  }

  private async loadOrIssueServerCertificate(): Promise<void> {
    const { dir } = this.options;
    const certPem = await readIfExists(join(dir, CA_FILES.serverCert));
    const keyPem = await readIfExists(join(dir, CA_FILES.serverKey));
    if (certPem && keyPem) {
      const cert = new X509Certificate(certPem);
      // A crash between writing the key and the certificate leaves a pair that does not match.
      if (cert.checkIssued(new X509Certificate(this.caCertificatePem)) && cert.checkPrivateKey(createPrivateKey(keyPem))) {
        this.server = { cert: certPem, key: keyPem, names: certificateNames(cert), notAfter: new Date(cert.validTo) };
        await this.renewServerCertificateIfDue();
        return;
      }
    }
    await this.issueServerCertificate('none yet, or not from this CA');
  }

  /**
   * Replaces the server certificate when it expires within SERVER_RENEW_BEFORE_DAYS or does
   * not name every wanted host; the CA stays. Answers whether it did.
   */
  async renewServerCertificateIfDue(): Promise<boolean> {
    const now = this.options.clock.now();
    const wanted = this.wantedNames();
    const missing = wanted.filter((n) => !this.server.names.includes(n));
    if (missing.length > 0) {
      await this.issueServerCertificate(`names missing: ${missing.join(', ')}`);
      return true;
    }
    if (this.server.notAfter.getTime() - now < SERVER_RENEW_BEFORE_DAYS * DAY_MS) {
      await this.issueServerCertificate(`expires ${this.server.notAfter.toISOString()}`);
      return true;
    }
    return false;
  }

  private async issueServerCertificate(reason: string): Promise<void> {
    const now = this.options.clock.now();
    const names = this.wantedNames();
    const keys = await generateKeyPair();
    const cert = await createCertificate({
      serial: randomSerial(),
      commonName: names.find((n) => n !== 'localhost' && !/^[0-9.:]+$/.test(n)) ?? 'localhost',
      publicKey: keys.publicKey,
      issuer: this.issuer,
      names,
      extendedKeyUsage: ['serverAuth'],
      notBefore: new Date(now - BACKDATE_MS),
      notAfter: new Date(now + SERVER_VALIDITY_DAYS * DAY_MS),
    });
    const key = await privateKeyToPem(keys.privateKey);
    await writeFileAtomic(join(this.options.dir, CA_FILES.serverKey), key, { mode: 0o600 });
    await writeFileAtomic(join(this.options.dir, CA_FILES.serverCert), cert, { mode: 0o644 });
    this.server = { cert, key, names, notAfter: new Date(new X509Certificate(cert).validTo) };
    this.options.logger.info('tls: issued a server certificate', { names, notAfter: this.server.notAfter.toISOString(), reason });
  }

  /**
   * Signs a panel's CSR: subject CN = the panel id (whatever the CSR asked), clientAuth only,
   * CLIENT_VALIDITY_DAYS. The panel's previous certificate, if any, is revoked.
   */
  async signPanelCertificate(panelId: string, csrPem: string): Promise<IssuedClientCertificate> {
    const request = await readCertificateRequest(csrPem);
    const now = this.options.clock.now();
    const serial = randomSerial();
    const notAfter = new Date(now + CLIENT_VALIDITY_DAYS * DAY_MS);
    const certificatePem = await createCertificate({
      serial,
      commonName: panelId,
      publicKey: request.publicKeyInfo,
      issuer: this.issuer,
      extendedKeyUsage: ['clientAuth'],
      notBefore: new Date(now - BACKDATE_MS),
      notAfter,
    });
    await this.revokePanel(panelId, { write: false });
    this.panels.current[panelId] = { serial, notAfter: notAfter.toISOString() };
    await this.savePanelRecord();
    this.options.logger.info('tls: issued a panel certificate', { panelId, serial, notAfter: notAfter.toISOString() });
    return { certificatePem, serial, notAfter };
  }

  /** True when `serial` is the panel's current certificate (not replaced, not revoked). */
  isCurrentPanelCertificate(panelId: string, serial: string): boolean {
    const current = this.panels.current[panelId];
    return current !== undefined && current.serial === normalizeSerial(serial);
  }

  /** True when the panel was given a client certificate (and must then present it). */
  panelHasCertificate(panelId: string): boolean {
    return this.panels.current[panelId] !== undefined;
  }

  /** Makes the panel's current certificate useless (delete, key rotation). */
  async revokePanel(panelId: string, options: { write?: boolean } = {}): Promise<void> {
    const current = this.panels.current[panelId];
    if (!current) return;
    delete this.panels.current[panelId];
    this.panels.revoked.push({
      serial: current.serial,
      panelId,
      revokedAt: new Date(this.options.clock.now()).toISOString(),
      notAfter: current.notAfter,
    });
    this.options.logger.info('tls: panel certificate revoked', { panelId, serial: current.serial });
    if (options.write !== false) await this.savePanelRecord();
  }

  private async savePanelRecord(): Promise<void> {
    const now = this.options.clock.now();
    // An expired certificate is refused anyway: its serial need not stay listed.
    this.panels.revoked = this.panels.revoked.filter((r) => Date.parse(r.notAfter) > now);
    await writeFileAtomic(join(this.options.dir, CA_FILES.panelCertificates), `${JSON.stringify(this.panels, null, 2)}\n`, { mode: 0o600 });
    await this.writeRevocationList();
  }

  private async writeRevocationList(): Promise<void> {
    const now = this.options.clock.now();
    const crl = await createRevocationList({
      issuer: this.issuer,
      serials: this.panels.revoked.map((r) => ({ serial: r.serial, revokedAt: new Date(r.revokedAt) })),
      thisUpdate: new Date(now - BACKDATE_MS),
      // OpenSSL refuses every client once the CRL is past nextUpdate; it is rewritten at every
      // start and every revocation, so a year is only the limit for a backend never restarted.
      nextUpdate: new Date(now + 365 * DAY_MS),
    });
    await writeFileAtomic(this.revocationListFile, crl, { mode: 0o644 });
  }
}
