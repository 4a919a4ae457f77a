// The Ansible playbook for Debian panels that are not reflashed: Debian's ansible-core checks
// its syntax, and every file it takes from the Buildroot overlay must exist (the same units);
// its task files for user namespaces and the release floor run for real on this machine.
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { IMAGE_RELEASE_FLOOR_FILE, readImageReleaseFloor } from '@airpanel/panel/core/update/image-floor';
import { BOARD, REPO, must, run, tempDir } from './image-fixture.js';

const DIR = join(REPO, 'provisioning/ansible');
const PLAYBOOK = join(DIR, 'playbook.yml');
const home = tempDir('airpanel-ansible-');
afterAll(() => home.remove());
// Ansible insists on a UTF-8 locale and writes its temp files under $HOME/.ansible.
const env = { LC_ALL: 'C.UTF-8', ANSIBLE_NOCOLOR: '1', HOME: home.dir, ANSIBLE_LOCAL_TEMP: join(home.dir, 'tmp') };

describe('provisioning/ansible/playbook.yml', () => {
  it('passes ansible-playbook --syntax-check', () => {
    const r = must('ansible-playbook', ['--syntax-check', '-i', join(DIR, 'inventory.example.ini'), PLAYBOOK], { env });
    expect(r.stdout).toMatch(/playbook: .*playbook\.yml/);
    expect(r.stderr).not.toMatch(/ERROR|WARNING/);
  });

  it('the syntax check is not vacuous: an unknown module fails it', () => {
    const broken = join(home.dir, 'broken.yml');
    writeFileSync(broken, '- hosts: panels\n  tasks:\n    - name: x\n      ansible.builtin.no_such_module: {}\n');
    const r = run('ansible-playbook', ['--syntax-check', '-i', join(DIR, 'inventory.example.ini'), broken], { env });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/no_such_module/);
  });

  it('installs the very units and settings of the image, which all exist', () => {
    const text = readFileSync(PLAYBOOK, 'utf8');
    const list = (name: string) =>
      (new RegExp(`${name}:\\n((?:\\s+- .+\\n)+)`).exec(text)?.[1] ?? '')
        .split('\n')
        .map((l) => l.trim().replace(/^- /, ''))
        .filter(Boolean);
    const files = [...list('airpanel_unit_files'), ...list('airpanel_helper_files')];
    expect(files).toEqual(expect.arrayContaining(['etc/systemd/system/airpanel.service', 'etc/tmpfiles.d/airpanel.conf']));
    for (const f of files) expect(existsSync(join(BOARD, 'common/rootfs-overlay', f)), f).toBe(true);
    // Every program airpanel.service runs from the overlay is installed too.
    const unit = readFileSync(join(BOARD, 'common/rootfs-overlay/etc/systemd/system/airpanel.service'), 'utf8');
    for (const [, path] of unit.matchAll(/^Exec\w+=-?(\/usr\/libexec\/airpanel\/\S+)/gm)) expect(files, path).toContain(path!.slice(1));
  });

  it('lists the tasks a technician expects (app, non-setuid sandbox, userns, identity guard, kiosk enabled)', () => {
    const r = must('ansible-playbook', ['--list-tasks', '-i', join(DIR, 'inventory.example.ini'), PLAYBOOK], { env });
    for (const task of [
      'Unpack the packaged app into /opt/airpanel',
      "Chromium's sandbox helper is not setuid",
      'User namespaces for Chromium',
      "Refuse to overwrite another panel's identity",
      "The panel's identity (panel.json, mode 0600)",
      'Enable seatd and the kiosk',
    ]) {
      expect(r.stdout).toContain(task);
    }
  });
});

// tasks/userns.yml run for real by ansible-playbook on this machine (connection local), against
// a stand-in /proc/sys (a directory of the three switches it reads) and a scratch AppArmor dir.
describe('provisioning/ansible/tasks/userns.yml', () => {
  const RUNTIME_BINARY = '/opt/airpanel/airpanel';

  function play(name: string, switches: Record<string, string>, o: { load?: boolean } = {}) {
    const dir = join(home.dir, name);
    const sysctl = join(dir, 'proc-sys');
    const apparmor = join(dir, 'apparmor.d');
    const bin = join(dir, 'bin');
    for (const d of [join(sysctl, 'kernel'), join(sysctl, 'user'), apparmor, bin]) mkdirSync(d, { recursive: true });
    for (const [path, value] of Object.entries(switches)) writeFileSync(join(sysctl, path), `${value}\n`);
    // Stand-in apparmor_parser (the real one would load the profile into this machine's kernel):
    // records its arguments.
    const parserLog = join(dir, 'apparmor_parser.args');
    writeFileSync(join(bin, 'apparmor_parser'), `#!/bin/sh\nprintf '%s\\n' "$@" > '${parserLog}'\n`);
    chmodSync(join(bin, 'apparmor_parser'), 0o755);
    const playbook = join(dir, 'play.yml');
    writeFileSync(
      playbook,
      [
        '- hosts: localhost',
        '  connection: local',
        '  gather_facts: false',
        '  vars:',
        `    airpanel_sysctl_dir: ${JSON.stringify(sysctl)}`,
        `    airpanel_apparmor_dir: ${JSON.stringify(apparmor)}`,
        `    airpanel_runtime_binary: ${RUNTIME_BINARY}`,
        `    airpanel_apparmor_load: ${o.load ? 'true' : 'false'}`,
        '  tasks:',
        `    - ansible.builtin.include_tasks: ${JSON.stringify(join(DIR, 'tasks/userns.yml'))}`,
        '',
      ].join('\n'),
    );
    const r = run('ansible-playbook', ['-i', 'localhost,', '-e', `ansible_python_interpreter=${'/usr/bin/python3'}`, playbook], {
      env: { ...env, PATH: `${bin}:${process.env.PATH ?? '/usr/bin:/bin'}` },
      timeout: 120_000,
    });
    const profile = join(apparmor, 'airpanel');
    return {
      ...r,
      profile: existsSync(profile) ? readFileSync(profile, 'utf8') : null,
      parserArgs: existsSync(parserLog) ? readFileSync(parserLog, 'utf8').trim().split('\n') : null,
    };
  }

  const PERMISSIVE = {
    'kernel/unprivileged_userns_clone': '1',
    'user/max_user_namespaces': '63551',
    'kernel/apparmor_restrict_unprivileged_userns': '0',
  };

  it("a kernel without unprivileged user namespaces (Debian's switch off) stops the play with a clear message", () => {
    const r = play('clone-off', { ...PERMISSIVE, 'kernel/unprivileged_userns_clone': '0' });
    expect(r.status).not.toBe(0);
    expect(r.stdout).toMatch(/does not allow unprivileged user namespaces[\s\S]*kernel\.unprivileged_userns_clone=0/);
    expect(r.stdout).toMatch(/sysctl kernel\.unprivileged_userns_clone=1/);
    expect(r.profile).toBeNull();
  }, 120_000);

  it('user.max_user_namespaces=0 stops it too', () => {
    const r = play('max-zero', { ...PERMISSIVE, 'user/max_user_namespaces': '0' });
    expect(r.status).not.toBe(0);
    expect(r.stdout).toMatch(/does not allow unprivileged user namespaces[\s\S]*user\.max_user_namespaces=0/);
    expect(r.profile).toBeNull();
  }, 120_000);

  it('apparmor_restrict_unprivileged_userns=1: installs a profile granting userns to the runtime binary, and loads it', () => {
    const r = play('restricted', { ...PERMISSIVE, 'kernel/apparmor_restrict_unprivileged_userns': '1' }, { load: true });
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.profile).toMatch(new RegExp(`^profile airpanel ${RUNTIME_BINARY} flags=\\(unconfined\\) \\{$`, 'm'));
    expect(r.profile).toMatch(/^\s+userns,$/m);
    expect(r.parserArgs).toEqual(['--replace', '--write-cache', join(home.dir, 'restricted/apparmor.d/airpanel')]);
  }, 120_000);

  it('otherwise it changes nothing (all switches permissive, or absent from the kernel)', () => {
    for (const [name, switches] of [
      ['permissive', PERMISSIVE],
      ['absent', {}],
    ] as const) {
      const r = play(name, switches, { load: true });
      expect(r.status, r.stdout + r.stderr).toBe(0);
      expect(r.stdout).toMatch(/changed=0\s/);
      expect(r.profile).toBeNull();
      expect(r.parserArgs).toBeNull();
    }
  }, 240_000);
});

// tasks/release-floor-{check,install}.yml run for real by ansible-playbook on this machine
// (connection local): the check runs image/release-floor-cli.ts on the "control machine" (here),
// the install copies into a stand-in /usr/lib/airpanel. The floors are made by the release
// tool itself (`npm run release -- floor`) from a ledger.
describe('provisioning/ansible/tasks/release-floor-*.yml', () => {
  const FACTORY_VERSION = '1.4.0';
  const base = join(home.dir, 'floor');
  const bundleDir = join(base, 'factory-bundle');
  const scratchParent = join(base, 'control-tmp');
  mkdirSync(bundleDir, { recursive: true });
  mkdirSync(scratchParent, { recursive: true });
  // Only the version of the factory bundle's bundle.json is read by the play.
  writeFileSync(join(bundleDir, 'bundle.json'), `${JSON.stringify({ format: 'airpanel-bundle/1', version: FACTORY_VERSION })}\n`);
  const keyring = join(base, 'release-keys.json');
  writeFileSync(keyring, '{}\n');
  const isRoot = process.getuid?.() === 0;

  function releaseFloor(name: string, counter: number, factoryVersion = FACTORY_VERSION): string {
    const ledger = join(base, `${name}-ledger.json`);
    writeFileSync(ledger, `${JSON.stringify({ format: 'airpanel-release-ledger/1', counter, entries: [] })}\n`);
    const out = join(base, `${name}.json`);
    must(
      'npx',
      ['--no-install', 'tsx', 'tools/release/cli.ts', 'floor', '--ledger', ledger, '--factory-version', factoryVersion, '--out', out],
      { cwd: REPO },
    );
    return out;
  }

  function play(name: string, o: { floor?: string; keys?: string }) {
    const dir = join(base, name);
    const lib = join(dir, 'usr-lib-airpanel');
    mkdirSync(lib, { recursive: true });
    const playbook = join(dir, 'play.yml');
    writeFileSync(
      playbook,
      [
        '- hosts: localhost',
        '  connection: local',
        '  gather_facts: false',
        '  vars:',
        `    airpanel_repo: ${JSON.stringify(REPO)}`,
        `    airpanel_factory_bundle_dir: ${JSON.stringify(bundleDir)}`,
        `    airpanel_lib_dir: ${JSON.stringify(lib)}`,
        `    airpanel_release_keys: ${JSON.stringify(o.keys ?? '')}`,
        `    airpanel_release_floor: ${JSON.stringify(o.floor ?? '')}`,
        '  tasks:',
        `    - ansible.builtin.import_tasks: ${JSON.stringify(join(DIR, 'tasks/release-floor-check.yml'))}`,
        `    - ansible.builtin.import_tasks: ${JSON.stringify(join(DIR, 'tasks/release-floor-install.yml'))}`,
        // The playbook's handler restarts airpanel.service; here it only shows that it was notified.
        '  handlers:',
        '    - name: Restart the kiosk',
        '      ansible.builtin.debug: { msg: kiosk restarted }',
        '',
      ].join('\n'),
    );
    const r = run('ansible-playbook', ['-i', 'localhost,', '-e', 'ansible_python_interpreter=/usr/bin/python3', playbook], {
      env: { ...env, TMPDIR: scratchParent },
      cwd: REPO,
      timeout: 120_000,
    });
    const installed = join(lib, 'release-floor.json');
    return {
      ...r,
      installed,
      floor: existsSync(installed) ? readImageReleaseFloor(installed) : null,
      scratchLeft: readdirSync(scratchParent).filter((f) => f.endsWith('-airpanel-floor')),
      rerun: () =>
        run('ansible-playbook', ['-i', 'localhost,', '-e', 'ansible_python_interpreter=/usr/bin/python3', playbook], {
          env: { ...env, TMPDIR: scratchParent },
          cwd: REPO,
          timeout: 120_000,
        }),
    };
  }

  it.skipIf(!isRoot)(
    "installs the release manager's floor root:root 0644 where the panel reads it, once (a re-run changes nothing)",
    () => {
      const r = play('valid', { floor: releaseFloor('floor-23', 23), keys: keyring });
      expect(r.status, r.stdout + r.stderr).toBe(0);
      expect(r.floor).toEqual({ format: 'airpanel-release-floor/1', counterFloor: 23, factoryVersion: FACTORY_VERSION });
      const st = statSync(r.installed);
      expect({ uid: st.uid, gid: st.gid, mode: st.mode & 0o777 }).toEqual({ uid: 0, gid: 0, mode: 0o644 });
      expect(r.stdout).toMatch(/counter 23, factory version 1\.4\.0/);
      expect(r.stdout).toContain('kiosk restarted');
      expect(r.scratchLeft).toEqual([]);
      const again = r.rerun();
      expect(again.status, again.stdout + again.stderr).toBe(0);
      expect(again.stdout).toMatch(/changed=0\s/);
      expect(again.stdout).not.toContain('kiosk restarted');
    },
    240_000,
  );

  it('stops with the reason when the file is not a release floor of this factory bundle, and installs nothing', () => {
    const notJson = join(base, 'not-json.json');
    writeFileSync(notJson, 'counterFloor=23\n');
    const negative = join(base, 'negative.json');
    writeFileSync(
      negative,
      `${JSON.stringify({ format: 'airpanel-release-floor/1', counterFloor: -1, factoryVersion: FACTORY_VERSION })}\n`,
    );
    const extraKey = join(base, 'extra-key.json');
    writeFileSync(
      extraKey,
      `${JSON.stringify({ format: 'airpanel-release-floor/1', counterFloor: 5, factoryVersion: FACTORY_VERSION, note: 'x' })}\n`,
    );
    const cases: [string, string, RegExp][] = [
      ['not-json', notJson, /not-json\.json is not a release floor of this factory bundle \(version 1\.4\.0\): .*(JSON|Unexpected)/],
      ['negative', negative, /negative\.json is not a release floor .*counterFloor: Too small/],
      ['extra-key', extraKey, /extra-key\.json is not a release floor .*note/],
      [
        'other-version',
        releaseFloor('floor-other', 9, '1.3.0'),
        /is the floor of factory version 1\.3\.0, this image's factory bundle is 1\.4\.0: make it with `npm run release -- floor --factory-version 1\.4\.0`/,
      ],
      ['missing', join(base, 'absent.json'), /no such release floor file: .*absent\.json/],
    ];
    for (const [name, floor, reason] of cases) {
      const r = play(name, { floor, keys: keyring });
      expect(r.status, name).not.toBe(0);
      expect(r.stdout, name).toMatch(reason);
      expect(r.stdout, name).toMatch(/failed=1\s/);
      expect(r.floor, name).toBeNull();
      expect(r.scratchLeft, name).toEqual([]);
    }
  }, 600_000);

  it('refuses a panel that trusts a release keyring without a floor; without a keyring (OTA off) it needs none', () => {
    const refused = play('keys-no-floor', { keys: keyring });
    expect(refused.status).not.toBe(0);
    expect(refused.stdout).toMatch(
      /airpanel_release_keys is given .* but airpanel_release_floor is not: a wiped panel would take any old, validly signed manifest/,
    );
    expect(refused.floor).toBeNull();
    const otaOff = play('no-keys-no-floor', {});
    expect(otaOff.status, otaOff.stdout + otaOff.stderr).toBe(0);
    expect(otaOff.stdout).toMatch(/changed=0\s/);
    expect(existsSync(otaOff.installed)).toBe(false);
  }, 240_000);

  it.skipIf(!isRoot)(
    '"development": counter 0 and the factory bundle\'s version, with the build\'s banner',
    () => {
      const r = play('development', { floor: 'development', keys: keyring });
      expect(r.status, r.stdout + r.stderr).toBe(0);
      expect(r.floor).toEqual({ format: 'airpanel-release-floor/1', counterFloor: 0, factoryVersion: FACTORY_VERSION });
      expect(r.stdout).toMatch(/DEVELOPMENT release floor: counter 0, factory version 1\.4\.0/);
      expect(r.scratchLeft).toEqual([]);
    },
    240_000,
  );

  it('playbook.yml checks the floor before it changes the panel and installs it beside the keys, where the panel reads it', () => {
    const r = must('ansible-playbook', ['--list-tasks', '-i', join(DIR, 'inventory.example.ini'), PLAYBOOK], { env });
    const at = (task: string) => {
      const i = r.stdout.indexOf(task);
      expect(i, task).toBeGreaterThan(-1);
      return i;
    };
    expect(at('Check that a panel taking OTA releases gets a release floor')).toBeLessThan(at('Install cage, seatd'));
    expect(at('Stop unless it is a release floor of this factory bundle')).toBeLessThan(at('Install cage, seatd'));
    expect(at('Trusted OTA release keys')).toBeLessThan(at('The release floor (highest counter signed'));
    const libDir = /^\s+airpanel_lib_dir: (\S+)$/m.exec(readFileSync(PLAYBOOK, 'utf8'))?.[1];
    expect(`${libDir}/release-floor.json`).toBe(IMAGE_RELEASE_FLOOR_FILE);
  });
});
