import { hashSecret, hashesEqual, type Principal } from '../auth.js';
import type { PanelCredentialVerifier } from '../mqtt/gateway.js';

/**
 * Who a bearer token is, answered from memory: the admin token's digest and every panel key's
 * digest, loaded at start and kept current on create, rotation and delete. The display route
 * and the broker's CONNECT check call it on every request, so it touches no database.
 */
export class PanelKeyIndex implements PanelCredentialVerifier {
  private readonly adminTokenHash: Buffer;
  private readonly keyHashes = new Map<string, Buffer>();
  /** Hex digest of a key → its panel, to tell "another panel's key" (403) from "no key" (401). */
  private readonly panelByKeyHash = new Map<string, string>();

  constructor(adminToken: string) {
    this.adminTokenHash = hashSecret(adminToken);
  }

  authenticate(token: string | null): Principal | null {
    if (token === null) return null;
    const hash = hashSecret(token);
    if (hashesEqual(hash, this.adminTokenHash)) return { kind: 'admin' };
    // A plain Map lookup by digest is fine here: the digest of a 256-bit key leaks nothing
    // useful through timing, and the stored digest is compared in constant time below.
    const panelId = this.panelByKeyHash.get(hash.toString('hex'));
    if (panelId === undefined) return null;
    const stored = this.keyHashes.get(panelId);
    return stored && hashesEqual(hash, stored) ? { kind: 'panel', panelId } : null;
  }

  verifyPanelKey(panelId: string, apiKey: string): boolean {
    const stored = this.keyHashes.get(panelId);
    if (!stored) return false;
    return hashesEqual(hashSecret(apiKey), stored);
  }

  /** Is this a panel the backend knows (its messages are recorded)? */
  has(panelId: string): boolean {
    return this.keyHashes.has(panelId);
  }

  get size(): number {
    return this.keyHashes.size;
  }

  set(panelId: string, keyHash: Buffer): void {
    const old = this.keyHashes.get(panelId);
    if (old) this.panelByKeyHash.delete(old.toString('hex'));
    this.keyHashes.set(panelId, keyHash);
    this.panelByKeyHash.set(keyHash.toString('hex'), panelId);
  }

  remove(panelId: string): void {
    const old = this.keyHashes.get(panelId);
    if (old) this.panelByKeyHash.delete(old.toString('hex'));
    this.keyHashes.delete(panelId);
  }
}
