// The Ansible playbook for Debian panels that are not reflashed: Debian's ansible-core checks
// its syntax, and every file it takes from the Buildroot overlay must exist (the same units).
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
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
