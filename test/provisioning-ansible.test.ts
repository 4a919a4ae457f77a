// The Ansible playbook for Debian panels that are not reflashed: Debian's ansible-core checks
// its syntax, and every file it takes from the Buildroot overlay must exist (the same units).
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
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
    const list = (name: string) => (new RegExp(`${name}:\\n((?:\\s+- .+\\n)+)`).exec(text)?.[1] ?? '')
      .split('\n').map((l) => l.trim().replace(/^- /, '')).filter(Boolean);
    const files = [...list('airpanel_unit_files'), ...list('airpanel_helper_files')];
    expect(files).toEqual(expect.arrayContaining(['etc/systemd/system/airpanel.service', 'etc/tmpfiles.d/airpanel.conf']));
    for (const f of files) expect(existsSync(join(BOARD, 'common/rootfs-overlay', f)), f).toBe(true);
    // Every program airpanel.service runs from the overlay is installed too.
    const unit = readFileSync(join(BOARD, 'common/rootfs-overlay/etc/systemd/system/airpanel.service'), 'utf8');
    for (const [, path] of unit.matchAll(/^Exec\w+=-?(\/usr\/libexec\/airpanel\/\S+)/gm)) expect(files, path).toContain(path!.slice(1));
  });

  it('lists the tasks a technician expects (app, non-setuid sandbox, userns, identity guard, kiosk enabled)', () => {
    const r = must('ansible-playbook', ['--list-tasks', '-i', join(DIR, 'inventory.example.ini'), PLAYBOOK], { env });
    for (const task of ['Unpack the packaged app into /opt/airpanel', "Chromium's sandbox helper is not setuid", 'User namespaces for Chromium',
      "Refuse to overwrite another panel's identity", "The panel's identity (panel.json, mode 0600)", 'Enable seatd and the kiosk']) {
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
    writeFileSync(playbook, [
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
    ].join('\n'));
    const r = run('ansible-playbook', ['-i', 'localhost,', '-e', `ansible_python_interpreter=${'/usr/bin/python3'}`, playbook],
      { env: { ...env, PATH: `${bin}:${process.env.PATH ?? '/usr/bin:/bin'}` }, timeout: 120_000 });
    const profile = join(apparmor, 'airpanel');
    return { ...r, profile: existsSync(profile) ? readFileSync(profile, 'utf8') : null, parserArgs: existsSync(parserLog) ? readFileSync(parserLog, 'utf8').trim().split('\n') : null };
  }

  const PERMISSIVE = { 'kernel/unprivileged_userns_clone': '1', 'user/max_user_namespaces': '63551', 'kernel/apparmor_restrict_unprivileged_userns': '0' };

  it('a kernel without unprivileged user namespaces (Debian\'s switch off) stops the play with a clear message', () => {
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
    for (const [name, switches] of [['permissive', PERMISSIVE], ['absent', {}]] as const) {
      const r = play(name, switches, { load: true });
      expect(r.status, r.stdout + r.stderr).toBe(0);
      expect(r.stdout).toMatch(/changed=0\s/);
      expect(r.profile).toBeNull();
      expect(r.parserArgs).toBeNull();
    }
  }, 240_000);
});
