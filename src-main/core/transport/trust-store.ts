import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import type { PanelConfig } from '@airpanel/contract';

/** TLS options for `tls.connect` (MQTT.js passes them through) and for HTTPS clients. */
export interface TlsClientOptions {
  /** Replaces the system's roots when set: the private CA is then the only one trusted. */
  ca?: string;
  cert?: string;
  key?: string;
  minVersion: 'TLSv1.2';
}

/** got's names for the same options (`https` of got's options). */
export interface GotHttpsOptions {
  certificateAuthority?: string;
  certificate?: string;
  key?: string;
  minVersion: 'TLSv1.2';
}

export interface TrustMaterial {
  /** PEM of the CA(s) to trust; null = the system's public roots. */
  caPem: string | null;
  /** Where the CA came from (a path, or `panel.json` when inline), for logs. */
  caSource: string | null;
  /** PEM of the panel's client certificate and key (mTLS); both or neither. */
  clientCertPem: string | null;
  clientKeyPem: string | null;
}

/**
 * The one trust store of a panel: which CA it trusts and which client certificate it shows,
 * handed to every connection it opens (the MQTT link, display polling, screenshots, the
 * own-sensor confirmations, OTA manifests and bundles).
 */
export class TrustStore {
  /** No private CA, no client certificate: the system's roots (plain panels, tests). */
  static readonly systemRoots = new TrustStore({ caPem: null, caSource: null, clientCertPem: null, clientKeyPem: null });

  constructor(readonly material: TrustMaterial) {}

  get hasPrivateCa(): boolean {
    return this.material.caPem !== null;
  }

  get hasClientCertificate(): boolean {
    return this.material.clientCertPem !== null;
  }

  tlsOptions(): TlsClientOptions {
    const m = this.material;
    return {
      minVersion: 'TLSv1.2',
      ...(m.caPem ? { ca: m.caPem } : {}),
      ...(m.clientCertPem && m.clientKeyPem ? { cert: m.clientCertPem, key: m.clientKeyPem } : {}),
    };
  }

  gotHttpsOptions(): GotHttpsOptions {
    const t = this.tlsOptions();
    return {
      minVersion: t.minVersion,
      ...(t.ca ? { certificateAuthority: t.ca } : {}),
      ...(t.cert && t.key ? { certificate: t.cert, key: t.key } : {}),
    };
  }

  /** For the boot log: what is trusted, with the CA's subject and expiry; no key material. */
  describe(): Record<string, string | boolean | null> {
    const m = this.material;
    const ca = m.caPem ? firstCertificate(m.caPem) : null;
    const client = m.clientCertPem ? firstCertificate(m.clientCertPem) : null;
    return {
      trusts: ca ? 'private CA' : 'system roots',
      caSource: m.caSource,
      caSubject: ca?.subject.replace(/\n/g, ', ') ?? null,
      caValidTo: ca?.validTo ?? null,
      clientCertificate: client ? client.subject.replace(/\n/g, ', ') : null,
      clientCertificateValidTo: client?.validTo ?? null,
    };
  }
}

export type TrustLoadResult =
  { ok: true; trust: TrustStore } | { ok: false; field: 'caFile' | 'mqttCaFile' | 'clientCertFile' | 'clientKeyFile'; detail: string };

type TrustFields = Pick<PanelConfig, 'caFile' | 'mqttCaFile' | 'clientCertFile' | 'clientKeyFile'>;

/**
 * Reads the files panel.json names (`caFile`, else its older name `mqttCaFile`; the client
 * certificate and key) and checks them: the CA parses as a CA certificate, the client
 * certificate matches its key, the key file is readable by the panel user only. A relative
 * path is taken from the data dir (beside panel.json). A field may hold the PEM itself.
 * Never falls back to connecting without them: a CA that cannot be read is a refusal.
 */
export async function loadTrustStore(fields: TrustFields, dataDir: string): Promise<TrustLoadResult> {
  const caField = fields.caFile ? 'caFile' : 'mqttCaFile';
  const caValue = fields.caFile ?? fields.mqttCaFile;
  if (!caValue && !fields.clientCertFile && !fields.clientKeyFile) return { ok: true, trust: TrustStore.systemRoots };
  if (Boolean(fields.clientCertFile) !== Boolean(fields.clientKeyFile)) {
    const missing = fields.clientCertFile ? 'clientKeyFile' : 'clientCertFile';
    return { ok: false, field: missing, detail: `${missing} is missing: a client certificate needs both clientCertFile and clientKeyFile` };
  }
  let caPem: string | null = null;
  if (caValue) {
    const read = await readPem(caValue, dataDir, 'CERTIFICATE');
    if (!read.ok) return { ok: false, field: caField, detail: `${caField} ${read.detail}` };
    const problem = caProblem(read.pem);
    if (problem) return { ok: false, field: caField, detail: `${caField} ${read.source}: ${problem}` };
    caPem = read.pem;
  }
  let clientCertPem: string | null = null;
  let clientKeyPem: string | null = null;
  if (fields.clientCertFile && fields.clientKeyFile) {
    const cert = await readPem(fields.clientCertFile, dataDir, 'CERTIFICATE');
    if (!cert.ok) return { ok: false, field: 'clientCertFile', detail: `clientCertFile ${cert.detail}` };
    const key = await readPem(fields.clientKeyFile, dataDir, 'PRIVATE KEY', { ownerOnly: true });
    if (!key.ok) return { ok: false, field: 'clientKeyFile', detail: `clientKeyFile ${key.detail}` };
    try {
      const x509 = firstCertificate(cert.pem);
      if (!x509.checkPrivateKey(createPrivateKey(key.pem))) {
        return {
          ok: false,
          field: 'clientKeyFile',
          detail: `clientKeyFile ${key.source} is not the key of the certificate in ${cert.source}`,
        };
      }
    } catch (err) {
      return {
        ok: false,
        field: 'clientCertFile',
        detail: `clientCertFile ${cert.source} or its key cannot be parsed: ${(err as Error).message}`,
      };
    }
    clientCertPem = cert.pem;
    clientKeyPem = key.pem;
  }
  return { ok: true, trust: new TrustStore({ caPem, caSource: caValue ? sourceOf(caValue, dataDir) : null, clientCertPem, clientKeyPem }) };
}

const MAX_PEM_BYTES = 64 * 1024;

function isInlinePem(value: string): boolean {
  return value.includes('-----BEGIN');
}

function sourceOf(value: string, dataDir: string): string {
  if (isInlinePem(value)) return 'panel.json (inline PEM)';
  return isAbsolute(value) ? value : join(dataDir, value);
}

async function readPem(
  value: string,
  dataDir: string,
  label: 'CERTIFICATE' | 'PRIVATE KEY',
  o: { ownerOnly?: boolean } = {},
): Promise<{ ok: true; pem: string; source: string } | { ok: false; detail: string }> {
  const source = sourceOf(value, dataDir);
  let pem = value;
  if (!isInlinePem(value)) {
    try {
      const info = await stat(source);
      if (!info.isFile()) return { ok: false, detail: `${source} is not a file` };
      if (info.size > MAX_PEM_BYTES) return { ok: false, detail: `${source} is ${info.size} bytes, more than ${MAX_PEM_BYTES}` };
      // Like ssh with its keys: a private key others can read is not used.
      if (o.ownerOnly && (info.mode & 0o077) !== 0) {
        return { ok: false, detail: `${source} is readable by others (mode ${(info.mode & 0o777).toString(8)}); it must be 600` };
      }
      pem = await readFile(source, 'utf8');
    } catch (err) {
      return { ok: false, detail: `${source} cannot be read: ${(err as NodeJS.ErrnoException).code ?? String(err)}` };
    }
  }
  const wanted = label === 'CERTIFICATE' ? /-----BEGIN CERTIFICATE-----/ : /-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----/;
  if (!wanted.test(pem)) return { ok: false, detail: `${source} holds no PEM ${label.toLowerCase()}` };
  return { ok: true, pem, source };
}

function firstCertificate(pem: string): X509Certificate {
  return new X509Certificate(pem);
}

/** Why this PEM cannot serve as the panel's CA, or null. */
function caProblem(pem: string): string | null {
  let cert: X509Certificate;
  try {
    cert = firstCertificate(pem);
  } catch (err) {
    return `is not a readable certificate: ${(err as Error).message}`;
  }
  if (!cert.ca)
    return `holds a certificate that is not a CA (${cert.subject.replace(/\n/g, ', ')}): give the CA that signed the server's certificate`;
  return null;
}
