// provisioning `register` against loopback servers that misbehave on purpose, and
// `register --image` (register and inject in one step) against the REAL backend.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type PanelRegistration } from '@airpanel/contract';
import { runCli } from '@airpanel/provisioning/cli';
import { must } from './image-fixture.js';
import { ADMIN, work, backend, servers, cli, misbehaving, sha256, smallDisk, useProvisioningBackend } from './provisioning.test-support.js';
import { API_PREFIX } from '@airpanel/contract/api';

useProvisioningBackend();

describe('register against a backend that misbehaves', () => {
  // Every attempt also asks to inject into a card: the card must come out byte for byte.
  const run = async (api: string, timeoutMs = 5_000) => {
    const c = cli({ AIRPANEL_ADMIN_TOKEN: ADMIN }, timeoutMs);
    const tag = Math.random().toString(36).slice(2);
    const out = join(work.dir, `m-${tag}.json`);
    const card = smallDisk(`m-${tag}.img`, 'ext4');
    const before = sha256(card);
    const code = await runCli(['register', '--api', api, '--id', 'pnl-m1', '--name', 'M', '--out', out, '--image', card], c.deps);
    return { code, err: c.errors(), saved: existsSync(out), cardUntouched: sha256(card) === before };
  };

  it('unreachable: names the address and the cause', async () => {
    const url = await misbehaving((_q, s) => s.end());
    const closing = servers.pop()!;
    await new Promise((r) => closing.close(r));
    const r = await run(url);
    expect(r).toMatchObject({ code: 1, saved: false, cardUntouched: true });
    expect(r.err).toMatch(new RegExp(`cannot reach the backend at ${url.replace(/[.]/g, '\\.')}: ECONNREFUSED`));
  });

  it('answers 201 with HTML', async () => {
    const r = await run(
      await misbehaving((_q, s) => {
        s.writeHead(201, { 'content-type': 'text/html' });
        s.end('<html>proxy login</html>');
      }),
    );
    expect(r).toMatchObject({ code: 1, saved: false, cardUntouched: true });
    expect(r.err).toMatch(/answered 201 but not with JSON/);
  });

  it('answers 201 with JSON that is not a registration', async () => {
    const r = await run(
      await misbehaving((_q, s) => {
        s.writeHead(201, { 'content-type': 'application/json' });
        s.end(JSON.stringify({ panel: { id: 'pnl-m1' } }));
      }),
    );
    expect(r).toMatchObject({ code: 1, saved: false, cardUntouched: true });
    expect(r.err).toMatch(/not a panel registration: panel\.name/);
  });

  it('answers with another panel than asked', async () => {
    const reg: PanelRegistration = {
      panel: {
        id: 'pnl-other',
        name: 'M',
        location: null,
        sensorSourceId: null,
        contentSetId: 'default',
        levelSchemeId: 'default',
        createdAt: new Date().toISOString(),
      },
      apiKey: 'k'.repeat(40),
      endpoints: {
        apiBaseUrl: `http://127.0.0.1:1${API_PREFIX}`,
        mqttUrl: null,
        topics: { display: 'd', status: 's', commands: 'c', events: 'e' },
      },
      caCertificate: null,
      clientCertificate: null,
    };
    const r = await run(
      await misbehaving((_q, s) => {
        s.writeHead(201, { 'content-type': 'application/json' });
        s.end(JSON.stringify(reg));
      }),
    );
    expect(r).toMatchObject({ code: 1, saved: false, cardUntouched: true });
    expect(r.err).toMatch(/asked for panel id pnl-m1 but the backend registered pnl-other/);
  });

  it('answers 500 with an API error body', async () => {
    const r = await run(
      await misbehaving((_q, s) => {
        s.writeHead(500, { 'content-type': 'application/json' });
        s.end(JSON.stringify({ error: { code: 'internal', message: 'database is locked' } }));
      }),
    );
    expect(r).toMatchObject({ code: 1, saved: false, cardUntouched: true });
    expect(r.err).toMatch(/registration failed at .*\/api\/v1\/panels: internal: database is locked/);
  });

  it('never answers: times out instead of hanging', async () => {
    const r = await run(
      await misbehaving(() => {
        /* hold the request */
      }),
      500,
    );
    expect(r).toMatchObject({ code: 1, saved: false, cardUntouched: true });
    expect(r.err).toMatch(/cannot reach the backend at .*: ETIMEDOUT/);
  });
});

describe('register --image: register and inject in one step', () => {
  it('writes the new identity into the card', async () => {
    const card = smallDisk('one-step.img', 'ext4');
    const c = cli({ AIRPANEL_ADMIN_TOKEN: ADMIN });
    expect(
      await runCli(['register', '--api', backend.url, '--id', 'pnl-one-step', '--name', 'One step', '--image', card], c.deps),
      c.errors(),
    ).toBe(0);
    expect(c.text()).toMatch(/registered panel pnl-one-step[\s\S]*wrote .*one-step\.img \(partition airpanel-data, ext4/);
    const show = cli();
    expect(await runCli(['show', '--image', card, '--json'], show.deps)).toBe(0);
    expect(`${show.text()}\n`).toBe(readFileSync(join(work.dir, 'panel-pnl-one-step.json'), 'utf8'));
  });

  it('duplicate id (409 from the real backend): the card stays untouched', async () => {
    const card = smallDisk('dup.img', 'ext4');
    const before = sha256(card);
    const c = cli({ AIRPANEL_ADMIN_TOKEN: ADMIN });
    expect(
      await runCli(
        [
          'register',
          '--api',
          backend.url,
          '--id',
          'pnl-one-step',
          '--name',
          'Again',
          '--out',
          join(work.dir, 'dup2.json'),
          '--image',
          card,
        ],
        c.deps,
      ),
    ).toBe(1);
    expect(c.errors()).toMatch(/already registered/);
    expect(sha256(card)).toBe(before);
  });

  it('a card without a data partition, or holding another panel, is refused before anything is registered', async () => {
    const noData = join(work.dir, 'no-data.img');
    must('truncate', ['-s', '8M', noData]);
    must('sfdisk', ['-q', noData], { input: 'label: gpt\nstart=2048, size=4096, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name="efi"\n' });
    const before = sha256(noData);
    const c = cli({ AIRPANEL_ADMIN_TOKEN: ADMIN });
    expect(await runCli(['register', '--api', backend.url, '--id', 'pnl-never-1', '--name', 'Never', '--image', noData], c.deps)).toBe(1);
    expect(c.errors()).toMatch(/has no data partition: no GPT partition is named airpanel-data \(found: efi\)/);
    expect(sha256(noData)).toBe(before);

    const taken = join(work.dir, 'one-step.img'); // holds pnl-one-step
    const before2 = sha256(taken);
    const c2 = cli({ AIRPANEL_ADMIN_TOKEN: ADMIN });
    expect(await runCli(['register', '--api', backend.url, '--id', 'pnl-never-2', '--name', 'Never', '--image', taken], c2.deps)).toBe(1);
    expect(c2.errors()).toMatch(/already holds panel pnl-one-step/);
    expect(sha256(taken)).toBe(before2);

    for (const id of ['pnl-never-1', 'pnl-never-2']) {
      const s = cli({ AIRPANEL_ADMIN_TOKEN: ADMIN });
      expect(await runCli(['status', '--api', backend.url, '--id', id], s.deps)).toBe(1);
      expect(s.errors()).toMatch(new RegExp(`has no panel ${id}`));
    }
  });
});
