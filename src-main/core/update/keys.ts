import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { z } from 'zod';
import {
  canonicalJson,
  KeyId,
  type ManifestSignature,
  type ReleaseManifest,
  type SignatureVerifier,
  type SignedManifestEnvelope,
} from '@airpanel/contract/release';

/**
 * Ed25519 release keys. A key id is the first 16 bytes of sha256(raw 32-byte public key), in
 * hex: it names a key without trusting the name (the verifier recomputes it).
 */
export interface ReleaseKeyPair {
  keyId: string;
  /** Raw 32-byte public key, base64. */
  publicKey: string;
  /** PKCS#8 PEM. Keep it offline. */
  privateKeyPem: string;
}

export function generateReleaseKey(): ReleaseKeyPair {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const raw = rawPublicKey(publicKey);
  return {
    keyId: keyIdOf(raw),
    publicKey: raw.toString('base64'),
    privateKeyPem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
  };
}

export function keyIdOf(rawPublicKey: Uint8Array): string {
  return createHash('sha256').update(rawPublicKey).digest('hex').slice(0, 32);
}

function rawPublicKey(key: KeyObject): Buffer {
  const jwk = key.export({ format: 'jwk' });
  if (jwk.crv !== 'Ed25519' || typeof jwk.x !== 'string') throw new Error('not an Ed25519 key');
  return Buffer.from(jwk.x, 'base64url');
}

function publicKeyFromRaw(raw: Buffer): KeyObject {
  if (raw.length !== 32) throw new Error('an Ed25519 public key has 32 bytes');
  return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') }, format: 'jwk' });
}

/** The keyring file shipped in the image (several keys, so one can be rotated without reflashing). */
export const TrustedKeysFile = z.object({
  keys: z
    .array(z.object({ keyId: KeyId, publicKey: z.string(), comment: z.string().max(200).optional() }))
    .min(1)
    .max(16),
});
export type TrustedKeysFile = z.infer<typeof TrustedKeysFile>;

/** The node:crypto implementation of common's SignatureVerifier. */
export class Ed25519Verifier implements SignatureVerifier {
  private readonly keys = new Map<string, KeyObject>();

  constructor(trusted: TrustedKeysFile['keys']) {
    for (const k of trusted) {
      const raw = Buffer.from(k.publicKey, 'base64');
      const id = keyIdOf(raw);
      if (id !== k.keyId) throw new Error(`trusted key ${k.keyId}: id does not match its public key (expected ${id})`);
      this.keys.set(id, publicKeyFromRaw(raw));
    }
  }

  static fromFile(json: unknown): Ed25519Verifier {
    return new Ed25519Verifier(TrustedKeysFile.parse(json).keys);
  }

  isTrusted(keyId: string): boolean {
    return this.keys.has(keyId);
  }

  verify(keyId: string, message: string, signature: string): boolean {
    const key = this.keys.get(keyId);
    if (!key) return false;
    const sig = Buffer.from(signature, 'base64');
    if (sig.length !== 64) return false;
    try {
      return verify(null, Buffer.from(message, 'utf8'), key, sig);
    } catch {
      return false;
    }
  }
}

/** Signs the canonical bytes of a manifest with one or more private keys (PEM). */
export function signManifest(manifest: ReleaseManifest, privateKeyPems: readonly string[]): SignedManifestEnvelope {
  const message = Buffer.from(canonicalJson(manifest), 'utf8');
  const signatures: ManifestSignature[] = privateKeyPems.map((pem) => {
    const priv = createPrivateKey(pem);
    const pub = createPublicKey(priv);
    return { keyId: keyIdOf(rawPublicKey(pub)), signature: sign(null, message, priv).toString('base64') };
  });
  return { manifest: { ...manifest }, signatures };
}

/** The public half of a private key, as a keyring entry. */
export function publicEntryOf(privateKeyPem: string, comment?: string): TrustedKeysFile['keys'][number] {
  const raw = rawPublicKey(createPublicKey(createPrivateKey(privateKeyPem)));
  return { keyId: keyIdOf(raw), publicKey: raw.toString('base64'), ...(comment ? { comment } : {}) };
}
