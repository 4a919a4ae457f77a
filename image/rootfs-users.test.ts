// The Debian image's users (rootfs.ts addUsers: users.txt into passwd/group/shadow/gshadow, as
// Buildroot's makeusers does) on real files: the kiosk user joins the groups the kiosk unit
// lists in SupplementaryGroups=, dialout (the panel's own serial sensor) among them.
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { addUsers } from './rootfs.js';
import { run } from './run.js';

const buildrootDir = fileURLToPath(new URL('../buildroot', import.meta.url));
const unit = join(buildrootDir, 'board/airpanel/common/rootfs-overlay/etc/systemd/system/airpanel.service');

async function groupsOf(root: string, user: string): Promise<Map<string, number>> {
  const lines = (await readFile(join(root, 'etc/group'), 'utf8')).split('\n').filter(Boolean);
  return new Map(
    lines
      .map((l) => l.split(':'))
      .filter((f) => f[3]!.split(',').includes(user))
      .map((f) => [f[0]!, Number(f[2])]),
  );
}

describe('the kiosk user of the Debian image (addUsers on real files)', () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'airpanel-users-'));
    await mkdir(join(root, 'etc'));
  });
  afterEach(() => rm(root, { recursive: true, force: true }));

  const supplementary = async () =>
    /^SupplementaryGroups=(.*)$/m
      .exec(await readFile(unit, 'utf8'))![1]!
      .split(/\s+/)
      .filter(Boolean);

  it("on a Debian base (its own group file): member of every SupplementaryGroups= group, dialout with Debian's gid", async () => {
    await copyFile('/etc/group', join(root, 'etc/group'));
    await writeFile(join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/bash\n');
    const debianDialout = /^dialout:x:(\d+):/m.exec(await readFile('/etc/group', 'utf8'))?.[1];
    expect(debianDialout).toBeDefined();
    await addUsers({ root, buildrootDir, run });
    const groups = await groupsOf(root, 'airpanel');
    expect(await supplementary()).toContain('dialout');
    for (const g of await supplementary()) expect(groups.has(g), `airpanel in ${g}`).toBe(true);
    expect(groups.get('dialout')).toBe(Number(debianDialout));
    expect(await readFile(join(root, 'etc/passwd'), 'utf8')).toMatch(
      /^airpanel:x:1000:1000:Airpanel kiosk:\/nonexistent:\/usr\/sbin\/nologin$/m,
    );
  });

  it('on a base without those groups: each is created (a free system gid) with the kiosk user in it', async () => {
    await writeFile(join(root, 'etc/group'), 'root:x:0:\n');
    await writeFile(join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/bash\n');
    await addUsers({ root, buildrootDir, run });
    const groups = await groupsOf(root, 'airpanel');
    expect([...groups.keys()].sort()).toEqual([...(await supplementary())].sort());
    for (const gid of groups.values()) expect(gid).toBeLessThan(1000);
    expect(new Set(groups.values()).size).toBe(groups.size);
  });
});
