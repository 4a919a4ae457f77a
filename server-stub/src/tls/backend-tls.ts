import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { Clock } from '../clock.js';
import type { Logger } from '../logger.js';
import { PrivateCa, certificateNames } from './private-ca.js';

/** How the backend gets its TLS material: the operator's files, a private CA directory, or both. */
export interface TlsOptions {
  /** PEM certificate (with its chain) and key of the server (`--tls-cert`, `--tls-key`). */
  certFile?: string;
  keyFile?: string;
  /**
   * The private CA's directory (`--tls-ca-dir`): created at first start. Without cert files
   * it also makes and renews the server certificate; either way it signs panels' client
   * certificates and its CA certificate is handed to panels at registration.
   */
  caDir?: string;
}

export interface ServerTlsCredentials {
  cert: string;
  key: string;
}

export interface BackendTls {
  /** What the HTTPS and MQTTS servers use now. */
  credentials(): ServerTlsCredentials;
  /** The private CA (client certificates, revocation), when `caDir` is set. */
  ca: PrivateCa | null;
  /** The CA certificate panels must trust, handed out at registration; null when the operator's certificate is in use (a public CA). */
  caCertificateForPanels: string | null;
  /** Names and expiry of the server certificate, for the start-up log line. */
  describe(): { names: string[]; notAfter: string; source: 'files' | 'private-ca' };
  /** Calls `apply` whenever the server certificate was renewed. */
  onRenewed(apply: (credentials: ServerTlsCredentials) => void): void;
  /** Checks the renewal now (the backend calls it on a timer). */
  renewIfDue(): Promise<boolean>;
}

/** How often the backend asks the private CA whether the server certificate is due. */
export const RENEWAL_CHECK_INTERVAL_MS = 6 * 60 * 60_000;

/** The host part of a URL, without IPv6 brackets; null for a URL that is not one. */
export function hostOf(url: string | undefined): string | null {
  if (!url) return null;
  try {
    return new URL(url).hostname.replace(/^\[(.*)\]$/, '$1') || null;
  } catch {
    return null;
  }
}

export async function setUpBackendTls(
  options: TlsOptions,
  deps: { clock: Clock; logger: Logger; serverNames: string[] },
): Promise<BackendTls> {
  if ((options.certFile === undefined) !== (options.keyFile === undefined)) {
    throw new Error('give both the TLS certificate and its key (--tls-cert and --tls-key), or neither');
  }
  const ca = options.caDir
    ? await PrivateCa.open({ dir: options.caDir, serverNames: deps.serverNames, clock: deps.clock, logger: deps.logger })
    : null;
  const listeners: ((credentials: ServerTlsCredentials) => void)[] = [];

  if (options.certFile && options.keyFile) {
    const [cert, key] = await Promise.all([readFile(options.certFile, 'utf8'), readFile(options.keyFile, 'utf8')]);
    let parsed: X509Certificate;
    try {
      parsed = new X509Certificate(cert);
    } catch (error) {
      throw new Error(`${options.certFile} is not a PEM certificate: ${(error as Error).message}`);
    }
    if (!parsed.checkPrivateKey(createPrivateKey(key))) throw new Error(`${options.keyFile} is not the key of ${options.certFile}`);
    const notAfter = new Date(parsed.validTo);
    if (notAfter.getTime() <= deps.clock.now()) throw new Error(`${options.certFile} expired on ${notAfter.toISOString()}`);
    const names = certificateNames(parsed);
    const issuedByOurCa = ca !== null && parsed.checkIssued(new X509Certificate(ca.caCertificatePem));
    return {
      credentials: () => ({ cert, key }),
      ca,
      caCertificateForPanels: issuedByOurCa ? ca.caCertificatePem : null,
      describe: () => ({ names, notAfter: notAfter.toISOString(), source: 'files' }),
      onRenewed: (apply) => void listeners.push(apply),
      // The operator renews these files (certbot…) and restarts or reloads the backend.
      renewIfDue: () => Promise.resolve(false),
    };
  }
  if (!ca) throw new Error('TLS needs --tls-cert and --tls-key, or --tls-ca-dir');
  return {
    credentials: () => ({ cert: ca.serverCredentials.cert, key: ca.serverCredentials.key }),
    ca,
    caCertificateForPanels: ca.caCertificatePem,
    describe: () => ({ names: ca.serverCredentials.names, notAfter: ca.serverCredentials.notAfter.toISOString(), source: 'private-ca' }),
    onRenewed: (apply) => void listeners.push(apply),
    async renewIfDue() {
      if (!(await ca.renewServerCertificateIfDue())) return false;
      const credentials = { cert: ca.serverCredentials.cert, key: ca.serverCredentials.key };
      for (const apply of listeners) apply(credentials);
      return true;
    },
  };
}
