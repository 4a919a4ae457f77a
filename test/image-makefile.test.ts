// buildroot/Makefile's targets that run without Buildroot: the RAUC signing keys (where the
// development pair lives, RELEASE=1 refusing it), the release floor (from a floor file, from the
// ledger, or the development floor; RELEASE=1 refusing the last) and the image version handed to the build.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readImageReleaseFloor } from '@airpanel/panel/core/update/image-floor';
import { EXTERNAL, STAND_IN_IMAGE_VERSION, makeReleaseFloor, makeSigningPair, must, run, tempDir } from './image-fixture.js';

let t: ReturnType<typeof tempDir>;
beforeAll(() => {
  t = tempDir('airpanel-makefile-');
});
afterAll(() => t?.remove());

/** make -C buildroot with only the variables given (none of the caller's AIRPANEL_* leak in). */
function make(args: string[], env: Record<string, string> = {}) {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AIRPANEL_') && k !== 'RELEASE'));
  return run('make', ['--no-print-directory', '-C', EXTERNAL, ...args], {
    env: { ...clean, HOME: join(t.dir, 'home'), ...env } as Record<string, string>,
  });
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

describe('buildroot/Makefile: the release floor', () => {
  const floorJson = (counterFloor: number, factoryVersion = STAND_IN_IMAGE_VERSION) =>
    `${JSON.stringify({ format: 'airpanel-release-floor/1', counterFloor, factoryVersion })}\n`;

  it('RELEASE=1 refuses a build without a floor, in the first checks and in the release-floor target, and writes nothing', () => {
    const out = join(t.dir, 'refused-floor.json');
    const early = make(['release-floor-input', 'RELEASE=1']);
    expect(early.status).not.toBe(0);
    expect(early.stderr).toMatch(/RELEASE=1: set AIRPANEL_RELEASE_FLOOR .* or AIRPANEL_RELEASE_LEDGER/);
    // `image` runs this check before anything long (Buildroot's clone, the app), and writes the
    // floor after the app target has emptied dist/factory. (-n still runs the recursive $(MAKE)
    // of `config`, which fails without the Buildroot clone: only the printed plan matters.)
    const plan = make(['-n', 'image'], { AIRPANEL_RELEASE_KEYRING: 'none' }).stdout;
    const at = (text: string) => {
      const i = plan.indexOf(text);
      expect(i, text).toBeGreaterThan(-1);
      return i;
    };
    expect(at('AIRPANEL_RELEASE_LEDGER (the release ledger): without a floor')).toBeLessThan(at('git clone'));
    expect(at('rm -rf dist/factory')).toBeLessThan(at('image/release-floor-cli.ts'));
    const late = makeReleaseFloor(out, { RELEASE: '1' });
    expect(late.status).not.toBe(0);
    expect(existsSync(out)).toBe(false);
  });

  it('without a floor file or a ledger, ships the development floor (counter 0, the image version) and says so loudly', () => {
    const out = join(t.dir, 'dev-floor.json');
    const r = makeReleaseFloor(out);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/DEVELOPMENT release floor: counter 0, factory version 0\.1\.0-test/);
    expect(r.stderr).toMatch(/Never ship such an image/);
    expect(readImageReleaseFloor(out)).toEqual({
      format: 'airpanel-release-floor/1',
      counterFloor: 0,
      factoryVersion: STAND_IN_IMAGE_VERSION,
    });
  });

  it("takes the release manager's floor file only for this image's version, also with RELEASE=1", () => {
    const given = join(t.dir, 'floor-given.json');
    writeFileSync(given, floorJson(41));
    const out = join(t.dir, 'floor-from-file.json');
    const r = makeReleaseFloor(out, { AIRPANEL_RELEASE_FLOOR: given, RELEASE: '1' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/DEVELOPMENT/);
    expect(readImageReleaseFloor(out)).toEqual({
      format: 'airpanel-release-floor/1',
      counterFloor: 41,
      factoryVersion: STAND_IN_IMAGE_VERSION,
    });

    writeFileSync(given, floorJson(41, '0.0.9'));
    const otherVersion = makeReleaseFloor(join(t.dir, 'floor-other-version.json'), { AIRPANEL_RELEASE_FLOOR: given });
    expect(otherVersion.status).not.toBe(0);
    expect(otherVersion.stderr).toMatch(/floor of factory version 0\.0\.9, this image's factory bundle is 0\.1\.0-test/);
    writeFileSync(
      given,
      `${JSON.stringify({ format: 'airpanel-release-floor/1', counterFloor: -1, factoryVersion: STAND_IN_IMAGE_VERSION })}\n`,
    );
    expect(makeReleaseFloor(join(t.dir, 'floor-invalid.json'), { AIRPANEL_RELEASE_FLOOR: given }).status).not.toBe(0);
    const missing = makeReleaseFloor(join(t.dir, 'floor-missing.json'), { AIRPANEL_RELEASE_FLOOR: join(t.dir, 'absent.json') });
    expect(missing.status).not.toBe(0);
    expect(missing.stderr).toMatch(/no such file: .*absent\.json/);
    const both = makeReleaseFloor(join(t.dir, 'floor-both.json'), { AIRPANEL_RELEASE_FLOOR: given, AIRPANEL_RELEASE_LEDGER: given });
    expect(both.status).not.toBe(0);
    expect(both.stderr).toMatch(/not both/);
  });

  it('makes the floor from the release ledger (its highest counter), and refuses a ledger path with no file behind it', () => {
    const ledger = join(t.dir, 'release-ledger.json');
    // A ledger whose highest counter was adopted from a feed (entries are not needed for the floor).
    writeFileSync(ledger, `${JSON.stringify({ format: 'airpanel-release-ledger/1', counter: 23, entries: [] })}\n`);
    const out = join(t.dir, 'floor-from-ledger.json');
    const r = makeReleaseFloor(out, { AIRPANEL_RELEASE_LEDGER: ledger, RELEASE: '1' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/release floor from the ledger .*release-ledger\.json: counter 23, factory version 0\.1\.0-test/);
    expect(readImageReleaseFloor(out)).toEqual({
      format: 'airpanel-release-floor/1',
      counterFloor: 23,
      factoryVersion: STAND_IN_IMAGE_VERSION,
    });
    // A missing ledger would open as an empty one (counter 0): refused instead.
    const missing = makeReleaseFloor(join(t.dir, 'floor-no-ledger.json'), { AIRPANEL_RELEASE_LEDGER: join(t.dir, 'no-ledger.json') });
    expect(missing.status).not.toBe(0);
    expect(existsSync(join(t.dir, 'floor-no-ledger.json'))).toBe(false);
  });
});

describe('buildroot/Makefile: image version', () => {
  it('builds the factory bundle at AIRPANEL_IMAGE_VERSION (AIRPANEL_VERSION is the Buildroot package variable)', () => {
    const r = make(['-n', 'app'], { AIRPANEL_IMAGE_VERSION: '9.8.7' });
    expect(r.stdout).toMatch(/bundle --version 9\.8\.7 /);
    const version = (JSON.parse(readFileSync(join(EXTERNAL, '../package.json'), 'utf8')) as { version: string }).version;
    expect(make(['-n', 'app']).stdout).toContain(`bundle --version ${version} `);
    // One version rule for both boards (common/image-version.sh, sourced), never AIRPANEL_VERSION.
    expect(readFileSync(join(EXTERNAL, 'board/airpanel/common/image-version.sh'), 'utf8')).toMatch(/^\tVERSION=\$AIRPANEL_IMAGE_VERSION$/m);
    for (const script of [
      'board/airpanel/x86_64/post-image.sh',
      'board/airpanel/rpi4/post-image.sh',
      'board/airpanel/common/image-version.sh',
      '../image/build.ts',
    ]) {
      const text = readFileSync(join(EXTERNAL, script), 'utf8');
      if (script.endsWith('post-image.sh')) expect(text, script).toMatch(/^\. "\$BOARD_DIR\/\.\.\/common\/image-version\.sh"$/m);
      expect(text.replaceAll(/#.*$/gm, ''), script).not.toMatch(/\bAIRPANEL_VERSION\b/);
    }
    const sourced = run('sh', ['-c', `. '${join(EXTERNAL, 'board/airpanel/common/image-version.sh')}'; echo "$VERSION"`], {
      env: { PATH: process.env.PATH, AIRPANEL_IMAGE_VERSION: '9.8.7', AIRPANEL_VERSION: '1.1.1' },
    });
    expect(sourced.stdout.trim()).toBe('9.8.7');
    const dated = run('sh', ['-c', `. '${join(EXTERNAL, 'board/airpanel/common/image-version.sh')}'; echo "$VERSION"`], {
      env: { PATH: process.env.PATH, AIRPANEL_VERSION: '1.1.1' },
    });
    expect(dated.stdout.trim()).toMatch(/^\d{4}\.\d\d\.\d\d$/);
  });
});
