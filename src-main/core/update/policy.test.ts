import { describe, expect, it } from 'vitest';
import { canonicalJson, evaluateRelease, type PanelReleaseContext, type ReleaseManifest } from '@airpanel/contract/release';
import { Ed25519Verifier, generateReleaseKey, keyIdOf, signManifest } from './keys.js';

// The trust policy (common/release/policy.ts) with the real Ed25519 verifier: one case per rule.
const a = generateReleaseKey();
const b = generateReleaseKey();
const stranger = generateReleaseKey();
const verifier = new Ed25519Verifier([a, b].map((k) => ({ keyId: k.keyId, publicKey: k.publicKey })));
const NOW = Date.parse('2026-06-01T12:00:00Z');
const manifest: ReleaseManifest = {
  schema: 2,
  version: '2.0.0',
  channel: 'stable',
  bundle: { url: '../../bundles/x.tar.gz', sha512: `${'A'.repeat(86)}==`, size: 1000 },
  bundleDescriptorSha256: 'b'.repeat(64),
  minRuntime: { electron: '45.0.0', node: '20.0.0' },
  counter: 10,
  releasedAt: '2026-06-01T00:00:00.000Z',
  expiresAt: '2026-07-01T00:00:00.000Z',
  rolloutShare: 1,
};
const ctx: PanelReleaseContext = {
  panelId: 'panel-0001',
  channel: 'stable',
  runtime: { host: 'electron', version: '45.4.1' },
  runningVersion: '1.0.0',
  highestCounter: 5,
  refusedVersions: [],
  buildTimeMs: Date.parse('2026-01-01T00:00:00Z'),
};
const judge = (m: ReleaseManifest, c: Partial<PanelReleaseContext> = {}, keys = [a.privateKeyPem], now = NOW) =>
  evaluateRelease(signManifest(m, keys), verifier, { ...ctx, ...c }, now);

describe('release trust policy (real Ed25519)', () => {
  it('accepts a manifest signed by any trusted key (rotation without reflashing)', () => {
    expect(judge(manifest).kind).toBe('install');
    expect(judge(manifest, {}, [b.privateKeyPem]).kind).toBe('install');
    expect(judge(manifest, {}, [stranger.privateKeyPem, b.privateKeyPem]).kind).toBe('install');
  });

  it('key ids are the hash of the public key, checked when the keyring is loaded', () => {
    expect(a.keyId).toBe(keyIdOf(Buffer.from(a.publicKey, 'base64')));
    expect(() => new Ed25519Verifier([{ keyId: b.keyId, publicKey: a.publicKey }])).toThrow(/does not match/);
  });

  it('rejects unknown keys, bad signatures, and any change after signing', () => {
    expect(judge(manifest, {}, [stranger.privateKeyPem])).toMatchObject({ kind: 'reject', reason: 'unknown-key' });
    const env = signManifest(manifest, [a.privateKeyPem]);
    for (const change of [{ rolloutShare: 0.5 }, { counter: 11 }, { bundle: { ...manifest.bundle, size: 1001 } }, { extra: 1 }]) {
      expect(evaluateRelease({ ...env, manifest: { ...env.manifest, ...change } }, verifier, ctx, NOW)).toMatchObject({
        kind: 'reject',
        reason: 'bad-signature',
      });
    }
    // A signature from key a presented under key b's id.
    const forged = { ...env, signatures: [{ keyId: b.keyId, signature: env.signatures[0]!.signature }] };
    expect(evaluateRelease(forged, verifier, ctx, NOW)).toMatchObject({ kind: 'reject', reason: 'bad-signature' });
    expect(evaluateRelease({ manifest: 'x' }, verifier, ctx, NOW)).toMatchObject({ kind: 'reject', reason: 'malformed' });
  });

  it('signs canonical bytes: key order of the served JSON does not matter', () => {
    const env = signManifest(manifest, [a.privateKeyPem]);
    const reordered = JSON.parse(
      JSON.stringify({ signatures: env.signatures, manifest: Object.fromEntries(Object.entries(env.manifest).reverse()) }),
    ) as unknown;
    expect(evaluateRelease(reordered, verifier, ctx, NOW).kind).toBe('install');
    expect(canonicalJson(env.manifest)).toContain('"bundle":{"sha512"');
  });

  it('checks channel, expiry (with skew), not-yet-valid, runtime', () => {
    expect(judge({ ...manifest, channel: 'beta' })).toMatchObject({ reason: 'wrong-channel' });
    expect(judge(manifest, {}, undefined, Date.parse('2026-07-01T00:05:00Z')).kind).toBe('install'); // within 10 min skew
    expect(judge(manifest, {}, undefined, Date.parse('2026-07-01T00:11:00Z'))).toMatchObject({ reason: 'expired' });
    expect(judge({ ...manifest, releasedAt: '2026-06-02T00:00:00.000Z' })).toMatchObject({ reason: 'not-yet-valid' });
    expect(judge({ ...manifest, minRuntime: { electron: '46.0.0', node: '20.0.0' } })).toMatchObject({ reason: 'runtime-too-old' });
  });

  it('minimum runtime per host: one release for the Electron and the Node host, a host it does not name refuses it', () => {
    const both = { ...manifest, minRuntime: { electron: '45.0.0', node: '20.19.0' } };
    const onNode = (version: string) => ({ runtime: { host: 'node' as const, version } });
    expect(judge(both).kind).toBe('install');
    // The Debian image's Node 20.19 is not "older than Electron 45": each host has its own minimum.
    expect(judge(both, onNode('20.19.2')).kind).toBe('install');
    expect(judge(both, onNode('20.18.0'))).toMatchObject({ reason: 'runtime-too-old', detail: 'needs node 20.19.0, this one is 20.18.0' });
    expect(judge({ ...manifest, minRuntime: { electron: '45.0.0' } }, onNode('22.0.0'))).toMatchObject({
      reason: 'runtime-too-old',
      detail: expect.stringMatching(/not made for the node host/),
    });
    expect(judge({ ...manifest, minRuntime: { node: '20.0.0' } })).toMatchObject({
      reason: 'runtime-too-old',
      detail: expect.stringMatching(/not made for the electron host/),
    });
  });

  it('counter: replay refused, same counter is "already seen", unsynced clock bounds the jump', () => {
    expect(judge(manifest, { highestCounter: 11 })).toMatchObject({ kind: 'reject', reason: 'replayed' });
    expect(judge(manifest, { highestCounter: 10 })).toMatchObject({ kind: 'skip', reason: 'already-seen' });
    const unsynced = Date.parse('2024-01-01T00:00:00Z');
    expect(judge({ ...manifest, expiresAt: '2024-01-01T00:00:00.000Z' }, {}, undefined, unsynced)).toMatchObject({
      kind: 'install',
      clockUnsynced: true,
    });
    expect(judge({ ...manifest, counter: 5 + 21 }, {}, undefined, unsynced)).toMatchObject({ reason: 'counter-too-far-ahead-unsynced' });
    expect(judge({ ...manifest, counter: 5 + 21 }).kind).toBe('install');
  });

  it('fast-forward: a counter far above the highest accepted is refused even on a synced clock', () => {
    expect(judge({ ...manifest, counter: 5 + 10_000 }).kind).toBe('install');
    expect(judge({ ...manifest, counter: 5 + 10_001 })).toMatchObject({ kind: 'reject', reason: 'counter-too-far-ahead' });
    expect(judge({ ...manifest, counter: Number.MAX_SAFE_INTEGER })).toMatchObject({ kind: 'reject', reason: 'counter-too-far-ahead' });
  });

  it("a release below the image's factory version is refused (an old release replayed to a wiped panel)", () => {
    expect(judge(manifest, { factoryVersion: '2.1.0' })).toMatchObject({ kind: 'reject', reason: 'below-factory-version' });
    expect(judge(manifest, { factoryVersion: '2.0.0' }).kind).toBe('install');
  });

  it('current, refused and out-of-rollout releases are not downloaded', () => {
    expect(judge({ ...manifest, version: '1.0.0' }).kind).toBe('current');
    expect(judge(manifest, { refusedVersions: ['2.0.0'] })).toMatchObject({ kind: 'skip', reason: 'refused-version' });
    expect(judge({ ...manifest, rolloutShare: 0 })).toMatchObject({ kind: 'skip', reason: 'not-in-rollout' });
  });
});
