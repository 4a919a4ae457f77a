// buildroot/Makefile's targets that run without Buildroot: the RAUC signing keys (where the
// development pair lives, RELEASE=1 refusing it) and the image version handed to the build.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXTERNAL, makeSigningPair, must, run, tempDir } from './image-fixture.js';

let t: ReturnType<typeof tempDir>;
beforeAll(() => { t = tempDir('airpanel-makefile-'); });
afterAll(() => t?.remove());

/** make -C buildroot with only the variables given (none of the caller's AIRPANEL_* leak in). */
function make(args: string[], env: Record<string, string> = {}) {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AIRPANEL_') && k !== 'RELEASE'));
  return run('make', ['--no-print-directory', '-C', EXTERNAL, ...args], { env: { ...clean, HOME: join(t.dir, 'home'), ...env } as Record<string, string> });
}

describe('buildroot/Makefile: RAUC signing keys', () => {
  it('makes the development pair once, outside output/, under the same names as `npm run image`, and says so loudly', () => {
    const keys = join(t.dir, 'home/.config/airpanel/image-keys');
    const first = make(['keys']);
    expect(first.status, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/GENERATED the DEVELOPMENT RAUC signing key .*rauc-dev\.key\.pem/);
    expect(first.stdout).toMatch(/Never ship such an image/);
    const cert = join(keys, 'rauc-dev.cert.pem');
    expect(existsSync(join(keys, 'rauc-dev.key.pem'))).toBe(true);
    expect(must('openssl', ['x509', '-in', cert, '-noout', '-ext', 'extendedKeyUsage']).stdout).toMatch(/Code Signing/);
    const before = readFileSync(cert, 'utf8');
    const second = make(['keys']);
    expect(second.stdout).toMatch(/USING the DEVELOPMENT RAUC signing key/);
    expect(readFileSync(cert, 'utf8')).toBe(before);
    // `make clean` removes output/<board> only: the key that panels trust stays.
    const clean = make(['-n', 'clean']);
    expect(clean.stdout.trim()).toBe(`rm -rf ${join(EXTERNAL, 'output/x86_64')}`);
    expect(keys.startsWith(join(EXTERNAL, 'output'))).toBe(false);
  });

  it('RELEASE=1 refuses the development key and a release without OTA keys, and takes a real pair', () => {
    const dir = join(t.dir, 'release-keys');
    const refused = make(['keys', 'RELEASE=1'], { AIRPANEL_KEYS_DIR: dir });
    expect(refused.status).not.toBe(0);
    expect(refused.stderr).toMatch(/RELEASE=1: set AIRPANEL_RAUC_KEY and AIRPANEL_RAUC_CERT/);
    expect(existsSync(dir)).toBe(false);
    const noOta = make(['release-keys', 'RELEASE=1'], { AIRPANEL_RELEASE_KEYRING: 'none' });
    expect(noOta.status).not.toBe(0);
    expect(noOta.stderr).toMatch(/takes no OTA release/);

    must('mkdir', ['-p', dir]);
    const pair = makeSigningPair(dir, 'release');
    const ok = make(['keys', 'RELEASE=1'], { AIRPANEL_RAUC_KEY: pair.key, AIRPANEL_RAUC_CERT: pair.cert });
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stdout).not.toMatch(/DEVELOPMENT/);
    const missing = make(['keys'], { AIRPANEL_RAUC_KEY: pair.key, AIRPANEL_RAUC_CERT: join(dir, 'absent.pem') });
    expect(missing.status).not.toBe(0);
    expect(missing.stderr).toMatch(/no such certificate/);
  });
});

describe('buildroot/Makefile: image version', () => {
  it('builds the factory bundle at AIRPANEL_IMAGE_VERSION (AIRPANEL_VERSION is the Buildroot package variable)', () => {
    const r = make(['-n', 'app'], { AIRPANEL_IMAGE_VERSION: '9.8.7' });
    expect(r.stdout).toMatch(/bundle --version 9\.8\.7 /);
    const version = (JSON.parse(readFileSync(join(EXTERNAL, '../package.json'), 'utf8')) as { version: string }).version;
    expect(make(['-n', 'app']).stdout).toContain(`bundle --version ${version} `);
    for (const script of ['board/airpanel/x86_64/post-image.sh', 'board/airpanel/rpi4/post-image.sh']) {
      expect(readFileSync(join(EXTERNAL, script), 'utf8'), script).toMatch(/^\tVERSION=\$AIRPANEL_IMAGE_VERSION$/m);
    }
  });
});
