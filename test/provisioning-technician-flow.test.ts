// provisioning `register` against the REAL backend (server-stub's createBackend over HTTP on
// 127.0.0.1:0); then the whole technician flow register → inject → show on a small real disk
// image (sfdisk + mkfs), which uses the panel.json the first block registered.
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import got from 'got';
import { describe, expect, it } from 'vitest';
import { PanelConfig } from '@airpanel/contract';
import { runCli } from '@airpanel/provisioning/cli';
import { DataPartition } from '@airpanel/provisioning/disk';
import { ProcessToolRunner } from '@airpanel/provisioning/tools';
import { createTestPki } from '@airpanel/panel/core/transport/testing/test-pki';
import { must, run } from './image-fixture.js';
import { ADMIN, work, backend, cli, sha256, smallDisk, useProvisioningBackend } from './provisioning.test-support.js';
import { endpointUrl, endpoints } from '@airpanel/contract/api';

useProvisioningBackend();

describe('register against the real backend', () => {
  it('registers a panel and saves its panel.json (mode 0600) that the contract accepts', async () => {
    const c = cli({ AIRPANEL_ADMIN_TOKEN: ADMIN });
    const code = await runCli(
      [
        'register',
        '--api',
        backend.url,
        '--id',
        'pnl-gare-du-nord',
        '--name',
        'Gare du Nord',
        '--location',
        'Parvis, rue de Dunkerque',
        '--lat',
        '48.8809',
        '--lon',
        '2.3553',
      ],
      c.deps,
    );
    expect(code, c.errors()).toBe(0);
    const file = join(work.dir, 'panel-pnl-gare-du-nord.json');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const config = PanelConfig.parse(JSON.parse(readFileSync(file, 'utf8')));
    expect(config.panelId).toBe('pnl-gare-du-nord');
    expect(config.location).toEqual({ description: 'Parvis, rue de Dunkerque', latitude: 48.8809, longitude: 2.3553 });
    expect(config.endpoints.mqttUrl).toBeNull();
    expect(c.text()).toMatch(/registered panel pnl-gare-du-nord/);
    expect(c.text()).toMatch(/\| panel id\s+pnl-gare-du-nord\s+\|/);
    expect(c.text()).not.toContain(config.apiKey);

    // The backend knows the panel and accepts the saved key.
    const listed = await got(endpointUrl(backend.url, endpoints.listPanels), { headers: { authorization: `Bearer ${ADMIN}` } }).json<
      { id: string }[] | { items: { id: string }[] }
    >();
    const ids = (Array.isArray(listed) ? listed : listed.items).map((p) => p.id);
    expect(ids).toContain('pnl-gare-du-nord');
    const doc = await got(endpointUrl(backend.url, endpoints.getDisplay, { panelId: 'pnl-gare-du-nord' }), {
      headers: { authorization: `Bearer ${config.apiKey}` },
      throwHttpErrors: false,
    });
    expect(doc.statusCode).toBe(200);
    const wrong = await got(endpointUrl(backend.url, endpoints.getDisplay, { panelId: 'pnl-gare-du-nord' }), {
      headers: { authorization: `Bearer ${'x'.repeat(40)}` },
      throwHttpErrors: false,
    });
    expect([401, 403]).toContain(wrong.statusCode);
  });

  it('status: a registered panel is offline until it first reaches the backend, then online', async () => {
    const reg = cli({ AIRPANEL_ADMIN_TOKEN: ADMIN });
    expect(await runCli(['register', '--api', backend.url, '--id', 'pnl-status', '--name', 'Status'], reg.deps), reg.errors()).toBe(0);
    // No --api: the backend URL comes from the panel.json's apiBaseUrl.
    const before = cli({ AIRPANEL_ADMIN_TOKEN: ADMIN });
    expect(await runCli(['status', '--config', 'panel-pnl-status.json'], before.deps), before.errors()).toBe(0);
    expect(before.text()).toMatch(/^panel pnl-status \(Status\): offline\n  last seen:  never/);

    // What the panel does when it boots: fetch its display document with its own key.
    const config = PanelConfig.parse(JSON.parse(readFileSync(join(work.dir, 'panel-pnl-status.json'), 'utf8')));
    await got(`${config.endpoints.apiBaseUrl.replace(/\/$/, '')}/panels/pnl-status/display`, {
      headers: { authorization: `Bearer ${config.apiKey}` },
    });
    const after = cli({ AIRPANEL_ADMIN_TOKEN: ADMIN });
    expect(await runCli(['status', '--config', 'panel-pnl-status.json'], after.deps), after.errors()).toBe(0);
    expect(after.text()).toMatch(/^panel pnl-status \(Status\): ONLINE\n  last seen:  \d{4}-/);

    const missing = cli({ AIRPANEL_ADMIN_TOKEN: ADMIN });
    expect(await runCli(['status', '--api', backend.url, '--id', 'pnl-nowhere'], missing.deps)).toBe(1);
    expect(missing.errors()).toMatch(/has no panel pnl-nowhere/);
  });

  it('lets the backend choose the id when none is given', async () => {
    const c = cli();
    expect(await runCli(['register', '--api', backend.url, '--admin-token', ADMIN, '--name', 'Sans identifiant'], c.deps), c.errors()).toBe(
      0,
    );
    const id = /registered panel (\S+);/.exec(c.text())?.[1];
    expect(id).toBeTruthy();
    expect(existsSync(join(work.dir, `panel-${id}.json`))).toBe(true);
  });

  it('reports a duplicate id (409) clearly and saves nothing', async () => {
    const c = cli({ AIRPANEL_ADMIN_TOKEN: ADMIN });
    const out = join(work.dir, 'dup.json');
    const code = await runCli(['register', '--api', backend.url, '--id', 'pnl-gare-du-nord', '--name', 'Encore', '--out', out], c.deps);
    expect(code).toBe(1);
    expect(c.errors()).toMatch(/panel id "pnl-gare-du-nord" is already registered/);
    expect(existsSync(out)).toBe(false);
  });

  it('reports a wrong admin token', async () => {
    const c = cli({ AIRPANEL_ADMIN_TOKEN: 'wrong-token-wrong-token-wrong-token' });
    expect(
      await runCli(['register', '--api', backend.url, '--id', 'pnl-x1', '--name', 'X', '--out', join(work.dir, 'x1.json')], c.deps),
    ).toBe(1);
    expect(c.errors()).toMatch(/refused the admin token/);
  });

  it('refuses before calling the backend when the output file exists or the input is invalid', async () => {
    const c = cli({ AIRPANEL_ADMIN_TOKEN: ADMIN });
    expect(await runCli(['register', '--api', backend.url, '--id', 'pnl-gare-du-nord', '--name', 'Again'], c.deps)).toBe(1);
    expect(c.errors()).toMatch(/already exists; pass --out/);
    const bad = cli({ AIRPANEL_ADMIN_TOKEN: ADMIN });
    expect(
      await runCli(['register', '--api', backend.url, '--id', 'Bad Id', '--name', 'X', '--out', join(work.dir, 'bad.json')], bad.deps),
    ).toBe(1);
    expect(bad.errors()).toMatch(/invalid panel: id:/);
    const usage = cli();
    expect(await runCli(['register', '--api', backend.url, '--name', 'X'], usage.deps)).toBe(2);
    expect(usage.errors()).toMatch(/no admin token/);
  });
});

describe('technician flow: register → inject → show', () => {
  it.each(['ext4', 'vfat'] as const)('works on a card whose data partition is %s', async (fs) => {
    const id = `pnl-flow-${fs}`;
    const reg = cli({ AIRPANEL_ADMIN_TOKEN: ADMIN });
    expect(
      await runCli(['register', '--api', backend.url, '--id', id, '--name', `Flow ${fs}`, '--location', 'Quai'], reg.deps),
      reg.errors(),
    ).toBe(0);
    const img = smallDisk(`${id}.img`, fs);
    const inj = cli();
    expect(await runCli(['inject', '--config', `panel-${id}.json`, '--image', img], inj.deps), inj.errors()).toBe(0);
    expect(inj.text()).toMatch(new RegExp(`${fs} at byte ${10240 * 512}`));
    const show = cli();
    expect(await runCli(['show', '--image', img, '--json'], show.deps)).toBe(0);
    expect(`${show.text()}\n`).toBe(readFileSync(join(work.dir, `panel-${id}.json`), 'utf8'));
    if (fs === 'vfat') {
      expect(must('fsck.vfat', ['-n', `${img}.part`]).status).toBe(0); // the original stays as made
      expect(must('mtype', ['-i', `${img}@@${10240 * 512}`, '::/airpanel/panel.json'], { env: { MTOOLS_SKIP_CHECK: '1' } }).stdout).toBe(
        readFileSync(join(work.dir, `panel-${id}.json`), 'utf8'),
      );
    }
  });

  it('carries the update channel: register --channel, inject --channel, show (default stable)', async () => {
    const reg = cli({ AIRPANEL_ADMIN_TOKEN: ADMIN });
    expect(
      await runCli(['register', '--api', backend.url, '--id', 'pnl-beta', '--name', 'Beta', '--channel', 'beta'], reg.deps),
      reg.errors(),
    ).toBe(0);
    const file = join(work.dir, 'panel-pnl-beta.json');
    expect(PanelConfig.parse(JSON.parse(readFileSync(file, 'utf8'))).updateChannel).toBe('beta');
    const img = smallDisk('channel.img', 'ext4');
    const inj = cli();
    expect(await runCli(['inject', '--config', file, '--image', img], inj.deps), inj.errors()).toBe(0);
    const show = cli();
    expect(await runCli(['show', '--image', img], show.deps)).toBe(0);
    expect(show.text()).toMatch(/^ {2}channel:\s+beta \(OTA updates\)$/m);

    // inject --channel moves the card to another channel; the saved file is left as it was.
    const moved = cli();
    expect(await runCli(['inject', '--config', file, '--image', img, '--channel', 'pilot-lyon'], moved.deps), moved.errors()).toBe(0);
    const json = cli();
    expect(await runCli(['show', '--image', img, '--json'], json.deps)).toBe(0);
    expect(PanelConfig.parse(JSON.parse(json.text())).updateChannel).toBe('pilot-lyon');
    expect(PanelConfig.parse(JSON.parse(readFileSync(file, 'utf8'))).updateChannel).toBe('beta');

    // A panel registered without --channel follows stable; a bad channel is refused before
    // the backend or the card is touched.
    const plain = cli();
    expect(await runCli(['show', '--config', 'panel-pnl-gare-du-nord.json'], plain.deps)).toBe(0);
    expect(plain.text()).toMatch(/channel:\s+stable/);
    const before = sha256(img);
    const bad = cli({ AIRPANEL_ADMIN_TOKEN: ADMIN });
    expect(
      await runCli(
        ['register', '--api', backend.url, '--id', 'pnl-badchan', '--name', 'X', '--channel', 'Beta!', '--image', img],
        bad.deps,
      ),
    ).toBe(2);
    expect(bad.errors()).toMatch(/--channel "Beta!": lowercase letters, digits and "-"/);
    const badInject = cli();
    expect(await runCli(['inject', '--config', file, '--image', img, '--channel', 'x'], badInject.deps)).toBe(2);
    expect(sha256(img)).toBe(before);
    expect(existsSync(join(work.dir, 'panel-pnl-badchan.json'))).toBe(false);
  });

  it('patches a block device in place (loop device; needs root) and refuses one with mounted partitions', async (ctx) => {
    const img = smallDisk('loop.img', 'ext4');
    const attach = process.getuid?.() === 0 ? run('losetup', ['--find', '--show', img]) : null;
    if (!attach || attach.status !== 0) {
      ctx.skip(); // not root, or no loop devices here: the block-device path is covered by disk.test.ts' patchChanges
      return;
    }
    const dev = attach.stdout.trim();
    try {
      const c = cli();
      expect(await runCli(['inject', '--config', 'panel-pnl-gare-du-nord.json', '--image', dev], c.deps), c.errors()).toBe(0);
      const back = must('debugfs', ['-R', 'cat /airpanel/panel.json', `${dev}?offset=${10240 * 512}`]).stdout;
      expect(back).toBe(readFileSync(join(work.dir, 'panel-pnl-gare-du-nord.json'), 'utf8'));
      // Through the device, the image file itself changed in place.
      expect(must('debugfs', ['-R', 'cat /airpanel/panel.json', `${img}?offset=${10240 * 512}`]).stdout).toBe(back);

      const mountinfo = join(work.dir, 'mountinfo');
      writeFileSync(mountinfo, `95 22 7:0 / /media/tech/airpanel-data rw - ext4 ${dev}p4 rw\n`);
      const dp = new DataPartition({
        tools: new ProcessToolRunner(),
        tmpDir: work.dir,
        mountinfo,
        adapterFor: () => {
          throw new Error('not reached');
        },
      });
      await expect(dp.open(dev, async () => ({ result: null, changed: false }))).rejects.toThrow(
        /has mounted partitions .*p4 on \/media\/tech\/airpanel-data.*unmount/,
      );
    } finally {
      run('losetup', ['-d', dev]);
    }
  });

  it('injects into a mounted data dir atomically with mode 0600 and protects another identity', async () => {
    const dataDir = join(work.dir, 'data', 'airpanel');
    const src = join(work.dir, 'panel-pnl-gare-du-nord.json');
    const c = cli();
    expect(await runCli(['inject', '--config', src, '--data-dir', dataDir], c.deps), c.errors()).toBe(0);
    expect(readFileSync(join(dataDir, 'panel.json'), 'utf8')).toBe(readFileSync(src, 'utf8'));
    expect(statSync(join(dataDir, 'panel.json')).mode & 0o777).toBe(0o600);

    const before = sha256(join(dataDir, 'panel.json'));
    const other = cli();
    expect(await runCli(['inject', '--config', join(work.dir, 'panel-pnl-flow-ext4.json'), '--data-dir', dataDir], other.deps)).toBe(1);
    expect(other.errors()).toMatch(/already holds panel pnl-gare-du-nord/);
    expect(sha256(join(dataDir, 'panel.json'))).toBe(before);

    writeFileSync(join(dataDir, 'panel.json'), '{ truncated');
    const broken = cli();
    expect(await runCli(['inject', '--config', src, '--data-dir', dataDir], broken.deps)).toBe(1);
    expect(broken.errors()).toMatch(/is not valid JSON.*without --force/);
    const forced = cli();
    expect(await runCli(['inject', '--config', src, '--data-dir', dataDir, '--force'], forced.deps)).toBe(0);
    const show = cli();
    expect(await runCli(['show', '--data-dir', dataDir], show.deps)).toBe(0);
    expect(show.text()).toMatch(/panel id:\s+pnl-gare-du-nord/);
  });

  it("as root, gives the files to the data dir's owner (the kiosk user) and points caFile at /data/airpanel", async (ctx) => {
    if (process.getuid?.() !== 0) {
      ctx.skip(); // chown needs root
      return;
    }
    const dataDir = join(work.dir, 'media', 'airpanel-data', 'airpanel');
    must('mkdir', ['-p', dataDir]);
    must('chown', ['1000:1000', dataDir]);
    const { caPath } = await createTestPki(join(work.dir, 'broker-ca'), 'broker CA');
    const cfg = join(work.dir, 'panel-tls.json');
    const base = PanelConfig.parse(JSON.parse(readFileSync(join(work.dir, 'panel-pnl-gare-du-nord.json'), 'utf8')));
    writeFileSync(cfg, JSON.stringify({ ...base, endpoints: { ...base.endpoints, mqttUrl: 'mqtts://broker.example.org:8883' } }));
    const c = cli();
    expect(await runCli(['inject', '--config', cfg, '--data-dir', dataDir, '--ca', caPath], c.deps), c.errors()).toBe(0);
    const st = statSync(join(dataDir, 'panel.json'));
    expect([st.uid, st.gid, st.mode & 0o777]).toEqual([1000, 1000, 0o600]);
    expect(statSync(join(dataDir, 'ca.pem')).uid).toBe(1000);
    expect(PanelConfig.parse(JSON.parse(readFileSync(join(dataDir, 'panel.json'), 'utf8'))).caFile).toBe('/data/airpanel/ca.pem');
  });

  it('prints help for every command and refuses unknown options', async () => {
    for (const cmd of ['register', 'inject', 'show', 'status']) {
      const c = cli();
      expect(await runCli([cmd, '--help'], c.deps)).toBe(0);
      expect(c.text()).toMatch(new RegExp(`^Usage: npm run provision -- ${cmd}`));
    }
    const c = cli();
    expect(await runCli(['inject', '--imgae', 'x'], c.deps)).toBe(2);
    expect(c.errors()).toMatch(/Unknown option '--imgae'/);
  });
});
