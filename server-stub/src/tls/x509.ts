import { createHash, createPublicKey, randomBytes, webcrypto, X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';

/**
 * Certificates, CSRs and CRLs on pkijs over Node's WebCrypto. node:crypto parses and
 * verifies X.509 (X509Certificate) but cannot create a certificate, read a CSR or sign a
 * CRL; pkijs does, with no global polyfill and no openssl binary at run time.
 *
 * Keys are ECDSA P-256: small certificates and the cheapest handshakes for a fleet that
 * reconnects all at once after a broker restart.
 */

type CryptoKey = webcrypto.CryptoKey;
type EngineCrypto = ConstructorParameters<typeof pkijs.CryptoEngine>[0]['crypto'];
const engine = new pkijs.CryptoEngine({ name: 'node', crypto: webcrypto as unknown as EngineCrypto });

export const KEY_ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SIGNING_HASH = 'SHA-256';

const OID = {
  commonName: '2.5.4.3',
  subjectKeyIdentifier: '2.5.29.14',
  keyUsage: '2.5.29.15',
  subjectAltName: '2.5.29.17',
  basicConstraints: '2.5.29.19',
  authorityKeyIdentifier: '2.5.29.35',
  extKeyUsage: '2.5.29.37',
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
} as const;

export interface KeyPair {
  privateKey: CryptoKey;
  publicKey: CryptoKey;
}

export async function generateKeyPair(): Promise<KeyPair> {
  return (await webcrypto.subtle.generateKey(KEY_ALGORITHM, true, ['sign', 'verify'])) as KeyPair;
}

function pem(label: string, der: ArrayBuffer | Uint8Array): string {
  const base64 = Buffer.from(der instanceof Uint8Array ? der : new Uint8Array(der)).toString('base64');
  return `-----BEGIN ${label}-----\n${base64.match(/.{1,64}/g)!.join('\n')}\n-----END ${label}-----\n`;
}

function derOf(text: string, label: string): ArrayBuffer {
  const match = new RegExp(`-----BEGIN ${label}-----([A-Za-z0-9+/=\\s]+)-----END ${label}-----`).exec(text);
  if (!match) throw new Error(`no PEM block "${label}" found`);
  const bytes = Buffer.from(match[1]!.replace(/\s+/g, ''), 'base64');
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
}

export async function privateKeyToPem(key: CryptoKey): Promise<string> {
  return pem('PRIVATE KEY', await webcrypto.subtle.exportKey('pkcs8', key));
}

export async function importPrivateKeyPem(text: string): Promise<CryptoKey> {
  return webcrypto.subtle.importKey('pkcs8', derOf(text, 'PRIVATE KEY'), KEY_ALGORITHM, true, ['sign']);
}

/** A positive 128-bit serial, written as lowercase hex (the form X509Certificate.serialNumber gives, uppercased). */
export function randomSerial(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0]! & 0x7f) | 0x01;
  return bytes.toString('hex');
}

/** A name of one attribute, CN (pkijs would put several attributes into one multi-valued RDN). */
function distinguishedName(commonName: string): pkijs.RelativeDistinguishedNames {
  const name = new pkijs.RelativeDistinguishedNames();
  name.typesAndValues.push(new pkijs.AttributeTypeAndValue({ type: OID.commonName, value: new asn1js.Utf8String({ value: commonName }) }));
  return name;
}

function extension(extnID: string, critical: boolean, value: { toSchema(): asn1js.AsnType }): pkijs.Extension {
  return new pkijs.Extension({ extnID, critical, extnValue: value.toSchema().toBER(false) });
}

function ipBytes(address: string): Uint8Array {
  if (isIP(address) === 4) return Uint8Array.from(address.split('.').map(Number));
  // Expand "::" and embedded IPv4 into eight 16-bit groups.
  const [head, tail = ''] = address.includes('::') ? address.split('::') : [address, undefined];
  const groups = (part: string | undefined) =>
    (part ? part.split(':') : []).flatMap((g) => {
      if (g.includes('.')) {
        const v4 = g.split('.').map(Number);
        return [((v4[0]! << 8) | v4[1]!).toString(16), ((v4[2]! << 8) | v4[3]!).toString(16)];
      }
      return [g];
    });
  const left = groups(head);
  const right = address.includes('::') ? groups(tail) : [];
  const all = [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  const out = new Uint8Array(16);
  all.forEach((g, i) => {
    const v = parseInt(g, 16);
    out[i * 2] = v >> 8;
    out[i * 2 + 1] = v & 0xff;
  });
  return out;
}

async function keyIdentifier(spki: pkijs.PublicKeyInfo): Promise<ArrayBuffer> {
  const digest = createHash('sha1').update(new Uint8Array(spki.subjectPublicKey.valueBlock.valueHexView)).digest();
  return digest.buffer.slice(digest.byteOffset, digest.byteOffset + digest.byteLength) as ArrayBuffer;
}

export interface Issuer {
  commonName: string;
  privateKey: CryptoKey;
  /** The issuer's own certificate (PEM), for the authority key identifier; absent when self-signed. */
  certificatePem?: string;
}

export interface CertificateSpec {
  serial: string;
  commonName: string;
  /** The subject's public key: a CryptoKey, or the SubjectPublicKeyInfo of a CSR. */
  publicKey: CryptoKey | pkijs.PublicKeyInfo;
  /** Absent: self-signed with `selfSignKey`. */
  issuer?: Issuer;
  selfSignKey?: CryptoKey;
  notBefore: Date;
  notAfter: Date;
  ca?: boolean;
  extendedKeyUsage?: ('serverAuth' | 'clientAuth')[];
  /** DNS names and IP addresses for the subjectAltName. */
  names?: string[];
}

/** Builds and signs one certificate; answers its PEM. */
export async function createCertificate(spec: CertificateSpec): Promise<string> {
  const signingKey = spec.issuer?.privateKey ?? spec.selfSignKey;
  if (!signingKey) throw new Error('a certificate needs an issuer or a self-signing key');
  const cert = new pkijs.Certificate();
  cert.version = 2;
  cert.serialNumber = new asn1js.Integer({ valueHex: Uint8Array.from(Buffer.from(spec.serial, 'hex')).buffer });
  cert.subject = distinguishedName(spec.commonName);
  cert.issuer = spec.issuer ? distinguishedName(spec.issuer.commonName) : distinguishedName(spec.commonName);
  cert.notBefore.value = spec.notBefore;
  cert.notAfter.value = spec.notAfter;
  if (spec.publicKey instanceof pkijs.PublicKeyInfo) cert.subjectPublicKeyInfo = spec.publicKey;
  else await cert.subjectPublicKeyInfo.importKey(spec.publicKey, engine);

  const extensions: pkijs.Extension[] = [];
  extensions.push(
    extension(OID.basicConstraints, true, new pkijs.BasicConstraints(spec.ca ? { cA: true, pathLenConstraint: 0 } : { cA: false })),
  );
  // keyUsage bits, most significant first: digitalSignature(0) … keyCertSign(5) cRLSign(6).
  const usage = spec.ca ? 0b0000_0110 : 0b1000_0000;
  extensions.push(
    new pkijs.Extension({
      extnID: OID.keyUsage,
      critical: true,
      extnValue: new asn1js.BitString({ valueHex: new Uint8Array([usage]).buffer, unusedBits: spec.ca ? 1 : 7 }).toBER(false),
    }),
  );
  if (spec.extendedKeyUsage?.length) {
    extensions.push(extension(OID.extKeyUsage, false, new pkijs.ExtKeyUsage({ keyPurposes: spec.extendedKeyUsage.map((p) => OID[p]) })));
  }
  if (spec.names?.length) {
    const altNames = spec.names.map((n) =>
      isIP(n)
        ? new pkijs.GeneralName({ type: 7, value: new asn1js.OctetString({ valueHex: ipBytes(n).buffer as ArrayBuffer }) })
        : new pkijs.GeneralName({ type: 2, value: n }),
    );
    extensions.push(extension(OID.subjectAltName, false, new pkijs.GeneralNames({ names: altNames })));
  }
  extensions.push(
    new pkijs.Extension({
      extnID: OID.subjectKeyIdentifier,
      critical: false,
      extnValue: new asn1js.OctetString({ valueHex: await keyIdentifier(cert.subjectPublicKeyInfo) }).toBER(false),
    }),
  );
  if (spec.issuer?.certificatePem) {
    const issuerCert = pkijs.Certificate.fromBER(derOf(spec.issuer.certificatePem, 'CERTIFICATE'));
    extensions.push(
      extension(
        OID.authorityKeyIdentifier,
        false,
        new pkijs.AuthorityKeyIdentifier({
          keyIdentifier: new asn1js.OctetString({ valueHex: await keyIdentifier(issuerCert.subjectPublicKeyInfo) }),
        }),
      ),
    );
  }
  cert.extensions = extensions;
  await cert.sign(signingKey, SIGNING_HASH, engine);
  return pem('CERTIFICATE', cert.toSchema(true).toBER(false));
}

/** CSRs above this are refused before parsing: a P-256 or RSA-4096 CSR is well under 2 KiB. */
export const CSR_MAX_CHARS = 8 * 1024;

export interface CertificateRequest {
  /** The common name the requester asked for; the CA decides the subject itself. */
  commonName: string | null;
  publicKeyInfo: pkijs.PublicKeyInfo;
}

/**
 * Reads a PKCS#10 CSR and checks its self-signature (proof that the sender holds the key).
 * Accepts EC P-256/P-384 and RSA of 2048 bits or more.
 */
export async function readCertificateRequest(text: string): Promise<CertificateRequest> {
  if (text.length > CSR_MAX_CHARS) throw new Error(`a certificate request is at most ${CSR_MAX_CHARS} characters`);
  let csr: pkijs.CertificationRequest;
  try {
    csr = pkijs.CertificationRequest.fromBER(derOf(text, 'CERTIFICATE REQUEST'));
  } catch (error) {
    throw new Error(`not a PEM certificate request: ${(error as Error).message}`);
  }
  if (!(await csr.verify(engine))) throw new Error('the certificate request is not signed by its own key');
  const spkiDer = Buffer.from(csr.subjectPublicKeyInfo.toSchema().toBER(false));
  const key = createPublicKey({ key: spkiDer, format: 'der', type: 'spki' });
  const details = key.asymmetricKeyDetails ?? {};
  const acceptable =
    key.asymmetricKeyType === 'ec'
      ? details.namedCurve === 'prime256v1' || details.namedCurve === 'secp384r1'
      : key.asymmetricKeyType === 'rsa' && (details.modulusLength ?? 0) >= 2048;
  if (!acceptable)
    throw new Error(
      `the certificate request's key (${key.asymmetricKeyType} ${details.namedCurve ?? details.modulusLength ?? ''}) is not EC P-256/P-384 or RSA ≥ 2048`,
    );
  const cn = csr.subject.typesAndValues.find((t) => t.type === OID.commonName);
  return { commonName: cn ? String(cn.value.valueBlock.value) : null, publicKeyInfo: csr.subjectPublicKeyInfo };
}

/** A PKCS#10 CSR for `keys` with subject CN=commonName (the technician's side; tests). */
export async function createCertificateRequest(keys: KeyPair, commonName: string): Promise<string> {
  const csr = new pkijs.CertificationRequest();
  csr.version = 0;
  csr.subject = distinguishedName(commonName);
  await csr.subjectPublicKeyInfo.importKey(keys.publicKey, engine);
  await csr.sign(keys.privateKey, SIGNING_HASH, engine);
  return pem('CERTIFICATE REQUEST', csr.toSchema(true).toBER(false));
}

/** A CRL listing `serials`, signed by the CA; OpenSSL (Mosquitto's crlfile) refuses it after `nextUpdate`. */
export async function createRevocationList(options: {
  issuer: Issuer;
  serials: { serial: string; revokedAt: Date }[];
  thisUpdate: Date;
  nextUpdate: Date;
}): Promise<string> {
  const crl = new pkijs.CertificateRevocationList();
  crl.version = 1;
  crl.issuer = distinguishedName(options.issuer.commonName);
  crl.thisUpdate = new pkijs.Time({ type: 0, value: options.thisUpdate });
  crl.nextUpdate = new pkijs.Time({ type: 0, value: options.nextUpdate });
  if (options.serials.length > 0) {
    crl.revokedCertificates = options.serials.map(
      (s) =>
        new pkijs.RevokedCertificate({
          userCertificate: new asn1js.Integer({ valueHex: Uint8Array.from(Buffer.from(s.serial, 'hex')).buffer }),
          revocationDate: new pkijs.Time({ type: 0, value: s.revokedAt }),
        }),
    );
  }
  await crl.sign(options.issuer.privateKey, SIGNING_HASH, engine);
  return pem('X509 CRL', crl.toSchema(true).toBER(false));
}

/** The serial of a PEM certificate in this module's form (lowercase hex, no leading zero byte). */
export function serialOf(certificatePem: string): string {
  return normalizeSerial(new X509Certificate(certificatePem).serialNumber);
}

/** Serials compare as hex without leading zero bytes and case (Node and OpenSSL differ there). */
export function normalizeSerial(hex: string): string {
  return hex.toLowerCase().replace(/^(00)+(?=[0-9a-f])/, '');
}
