import { X509Certificate, createPrivateKey, createPublicKey, generateKeyPairSync, webcrypto } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { ProvisionError } from './errors.js';

/**
 * The panel's client key pair, made on the technician's machine for `register --client-cert`:
 * only a certificate request (PKCS#10, built with pkijs over WebCrypto) goes to the backend,
 * whose CA signs it with the panel id as subject; the private key goes into panel.json and,
 * at injection, into a 0600 file on the panel.
 */

type EngineCrypto = ConstructorParameters<typeof pkijs.CryptoEngine>[0]['crypto'];
const engine = new pkijs.CryptoEngine({ name: 'node', crypto: webcrypto as unknown as EngineCrypto });
const EC_P256 = { name: 'ECDSA', namedCurve: 'P-256' } as const;

export interface ClientKeyAndRequest {
  /** PKCS#8 PEM of the panel's private key. */
  keyPem: string;
  /** PKCS#10 PEM to send as `clientCertificateRequest`. */
  requestPem: string;
}

function pem(label: string, der: ArrayBuffer): string {
  return `-----BEGIN ${label}-----\n${Buffer.from(der)
    .toString('base64')
    .match(/.{1,64}/g)!
    .join('\n')}\n-----END ${label}-----\n`;
}

/** An ECDSA P-256 key and a CSR whose subject is `commonName` (the backend sets the real subject). */
export async function makeClientKeyAndRequest(commonName: string): Promise<ClientKeyAndRequest> {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const keyPem = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
  const pkcs8 = privateKey.export({ format: 'der', type: 'pkcs8' });
  const signingKey = await webcrypto.subtle.importKey('pkcs8', pkcs8, EC_P256, false, ['sign']);
  const spki = createPublicKey(privateKey).export({ format: 'der', type: 'spki' });
  const publicKey = await webcrypto.subtle.importKey('spki', spki, EC_P256, true, ['verify']);

  const csr = new pkijs.CertificationRequest();
  csr.version = 0;
  csr.subject.typesAndValues.push(
    new pkijs.AttributeTypeAndValue({ type: '2.5.4.3', value: new asn1js.Utf8String({ value: commonName }) }),
  );
  await csr.subjectPublicKeyInfo.importKey(publicKey as unknown as CryptoKeyLike, engine);
  await csr.sign(signingKey as unknown as CryptoKeyLike, 'SHA-256', engine);
  return { keyPem, requestPem: pem('CERTIFICATE REQUEST', csr.toSchema(true).toBER(false)) };
}

type CryptoKeyLike = Parameters<pkijs.PublicKeyInfo['importKey']>[0];

/**
 * Checks what the backend signed before it is saved: one certificate for `panelId`, for the
 * key made here (a wrong or swapped answer must not end up on a panel).
 */
export function checkClientCertificate(certificatePem: string, keyPem: string, panelId: string): void {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certificatePem);
  } catch (error) {
    throw new ProvisionError(`the backend's client certificate is not a certificate: ${(error as Error).message}`);
  }
  if (!cert.checkPrivateKey(createPrivateKey(keyPem)))
    throw new ProvisionError("the backend's client certificate is not for the key made here");
  if (cert.subject !== `CN=${panelId}`)
    throw new ProvisionError(`the backend's client certificate names ${cert.subject}, not CN=${panelId}`);
}
