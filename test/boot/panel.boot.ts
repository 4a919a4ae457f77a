// The panel image booted in QEMU (TCG), one machine through a day of a panel's life, checked
// from outside as a person would (the screen, the backend) and, where only root on the panel
// can act, through the test-only debug shell. Steps run in order on the same machine; each
// leaves the panel showing live content for the next.
//
//   technician's path → content  →  new reading → new level  →  `restart` command
//   → app killed (systemd restarts it) → app frozen (the watchdog restarts it)
//   → `systemctl reboot`  →  backend stopped + reboot → cached content, stale badge
//   → backend back → live again
//
// The backend's panel summary stays `online` through a restart (a panel that polled over HTTP
// within the online window counts as online, and every start polls once); what tells the
// restarts apart is the panel's own report of why its app last started (`lastStart`: the
// unit's ExecStopPost record, the boot id, the loader's previous exit), asserted after each.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BootFigures, PanelSampler, summarise } from './support/boot-figures.js';
import { BOOT_TO_CONTENT_TIMEOUT_MS, BootPanel, readImageInfo } from './support/boot-panel.js';
import { describeMatch, matchContent } from './support/panel-screen.js';

const FRESHNESS_WINDOW_SECONDS = 90;

describe('the panel image in QEMU: provisioned, booted, restarted, rebooted', () => {
  const image = readImageInfo();
  const figures = new BootFigures('panel');
  let panel: BootPanel;
  let sampler: PanelSampler;
  beforeAll(async () => {
    panel = await BootPanel.create({ name: 'panel', freshnessWindowSeconds: FRESHNESS_WINDOW_SECONDS });
    // A live sensor (BootPanel's 20 s feed): without new readings the document lapses after the
    // 90 s window before a panel that takes minutes to paint under load shows it.
    await panel.prepare(8);
    sampler = new PanelSampler(async () => {
      const p = await panel.backend.panel(panel.panelId);
      return { online: p.online, state: p.state, displayedRevision: p.displayedRevision, lastError: p.lastError };
    }).start();
  });

  afterAll(async () => {
    sampler?.stop();
    await panel?.dispose();
    console.log(`[boot] figures: ${figures.save()}`);
  });

  /** The shell's output of `systemctl show` for one property of airpanel.service. */
  async function unitProperty(name: string): Promise<string> {
    return (await panel.shell().must(`systemctl show --property=${name} --value airpanel.service`)).trim();
  }

  /** systemd's printed time span ("30s", "1min 30s", "500ms") in microseconds. */
  function systemdSpanMicroseconds(span: string): number {
    const unit: Record<string, number> = { us: 1, ms: 1e3, s: 1e6, min: 60e6, h: 3600e6 };
    let total = 0;
    for (const part of span.trim().split(/\s+/)) {
      const m = /^(\d+)(us|ms|s|min|h)$/.exec(part);
      if (!m) throw new Error(`not a systemd time span: ${span}`);
      total += Number(m[1]) * unit[m[2]!]!;
    }
    return total;
  }

  /** Waits until the backend's summary says the app last started for `reason` (reported after `after`). */
  async function backendSaysLastStart(reason: string, after: number): Promise<void> {
    const since = Date.now() - (performance.now() - after) - 60_000;
    const p = await panel.waitForBackend(
      `lastStart ${reason}`,
      () => panel.backend.panel(panel.panelId),
      (s) => s.lastStart?.reason === reason && Date.parse(s.lastStart.at) >= since,
      180_000,
    );
    console.log(`[boot] lastStart: ${JSON.stringify(p.lastStart)}`);
  }

  /** Waits until the backend lists the panel online and showing the current revision. */
  async function backendSeesCurrent(): Promise<void> {
    await panel.waitForBackend(
      'panel online, displayed revision = current',
      () => panel.backend.panel(panel.panelId),
      (p) => p.online && p.displayedRevision !== null && p.displayedRevision === p.currentRevision,
      180_000,
    );
  }

  it("technician's path: registered, injected, powered on → the current level's content on screen; the backend lists it online", async () => {
    const doc = await panel.display();
    expect(doc.level.id).toBe('good');
    await panel.m.powerOn();
    const shown = await panel.waitForContent('first content', doc);
    figures.add('power-on → first content pixels (first boot of a fresh image)', panel.m.sincePowerOn(shown.at), 'TCG, no KVM');
    console.log(`[boot] first content: ${describeMatch(shown.match)}; ${shown.png}`);

    // The comparison tells looks apart: another headline, or the stale badge, does not match.
    const otherHeadline = await panel.looks.of({ ...doc, content: { ...doc.content, headline: 'Air quality is bad' } });
    expect(matchContent(shown.screen, otherHeadline).ok).toBe(false);
    expect(matchContent(shown.screen, await panel.looks.of(doc, true)).ok).toBe(false);

    await backendSeesCurrent();
    const summary = await panel.backend.panel(panel.panelId);
    expect(summary.firmwareVersion).toBe(image.version);
    expect(summary.state).toBe('live');
    expect(summary.lastError).toBeNull();
    await backendSaysLastStart('first-start', 0);

    // Inside (test-only shell): the root is read-only, /data is the data partition, nothing failed.
    const mounts = await panel.shell().must('findmnt -no OPTIONS / ; findmnt -no SOURCE,FSTYPE /data');
    expect(mounts).toMatch(/^ro,/m);
    expect(mounts).toMatch(/\/dev\/vda4 ext4/);
    expect(await panel.shell().must('cat /data/airpanel/panel.json')).toContain(`"panelId": "${panel.panelId}"`);
  });

  it('a new reading → the new level on the QEMU screen', async () => {
    const { shown, postedAt } = await panel.showNewReading(80, 'bad', 120_000);
    figures.add('new reading → new level on screen', (shown.at - postedAt) / 1000, 'backend on the host, MQTT push through guestfwd');
    await backendSeesCurrent();
  });

  it('`restart` command → the app starts again and shows the content', async () => {
    const pidBefore = (await panel.shell().must('pgrep -f node-main.js | head -1')).trim();
    const sentAt = performance.now();
    const command = await panel.backend.sendCommand(panel.panelId, 'restart');
    const record = await panel.waitForBackend(
      'restart acknowledged',
      () => panel.backend.command(panel.panelId, command.id),
      (c) => c.acks.some((a) => a.status === 'accepted' || a.status === 'done'),
      120_000,
    );
    expect(record.acks.map((a) => a.status)).not.toContain('failed');
    const doc = await panel.display();
    // The host exits (code 75) and the loader starts it again: a new process, content again.
    await panel.waitForBackend(
      'a new app process',
      async () => (await panel.shell().must('pgrep -f node-main.js | head -1')).trim(),
      (pid) => pid !== '' && pid !== pidBefore,
      120_000,
    );
    const shown = await panel.waitForContent('content after restart', doc, { timeoutMs: BOOT_TO_CONTENT_TIMEOUT_MS });
    figures.add('`restart` command → content again', (shown.at - sentAt) / 1000);
    await backendSeesCurrent();
    await backendSaysLastStart('app-restart', sentAt);
  });

  it('the app killed → systemd restarts it, content again; the backend saw it go and come back', async () => {
    const restartsBefore = Number(await unitProperty('NRestarts'));
    const mainPid = await unitProperty('MainPID');
    expect(Number(mainPid)).toBeGreaterThan(1);
    const killedAt = performance.now();
    await panel.shell().must(`kill -KILL ${mainPid}`);
    await panel.waitForBackend(
      'systemd restarted airpanel.service',
      () => unitProperty('NRestarts'),
      (n) => Number(n) === restartsBefore + 1,
      60_000,
    );
    const shown = await panel.waitForContent('content after kill', await panel.display(), { timeoutMs: BOOT_TO_CONTENT_TIMEOUT_MS });
    figures.add('app killed → content again (systemd restart)', (shown.at - killedAt) / 1000);
    await backendSeesCurrent();
    console.log(`[boot] backend's view after the kill: ${summarise(sampler.since(killedAt))}`);
    expect(await panel.shell().must('journalctl -b -u airpanel.service --no-pager -o cat | tail -n 400')).toMatch(
      /Main process exited, code=killed, status=9\/KILL/,
    );
    await backendSaysLastStart('killed', killedAt);
  });

  it('the app frozen (SIGSTOP) → the watchdog restarts it, content again; the backend saw it go and come back', async () => {
    const restartsBefore = Number(await unitProperty('NRestarts'));
    const watchdogUsec = systemdSpanMicroseconds(await unitProperty('WatchdogUSec'));
    expect(watchdogUsec).toBeGreaterThan(0);
    const appPid = (await panel.shell().must('pgrep -f node-main.js | head -1')).trim();
    expect(appPid).toMatch(/^\d+$/);
    const frozenAt = performance.now();
    await panel.shell().must(`kill -STOP ${appPid}`);
    await panel.waitForBackend(
      'the watchdog restarted airpanel.service',
      () => unitProperty('NRestarts'),
      (n) => Number(n) === restartsBefore + 1,
      watchdogUsec / 1000 + 90_000,
    );
    const restartedAfter = (performance.now() - frozenAt) / 1000;
    expect(restartedAfter).toBeGreaterThanOrEqual(watchdogUsec / 1e6 - 5);
    const log = await panel.shell().must('journalctl -b -u airpanel.service --no-pager -o cat | tail -n 400');
    expect(log).toMatch(/Watchdog timeout/);
    const shown = await panel.waitForContent('content after watchdog', await panel.display(), { timeoutMs: BOOT_TO_CONTENT_TIMEOUT_MS });
    figures.add('app frozen → content again (watchdog restart)', (shown.at - frozenAt) / 1000, `WatchdogSec ${watchdogUsec / 1e6} s`);
    await backendSeesCurrent();
    console.log(`[boot] backend's view after the freeze: ${summarise(sampler.since(frozenAt))}`);
    await backendSaysLastStart('watchdog', frozenAt);
  });

  it('`systemctl reboot` → the machine resets and the content comes back', async () => {
    const reset = panel.m.waitForReset(180_000);
    const rebootAt = performance.now();
    await panel.shell().send('systemctl reboot');
    await reset;
    const shown = await panel.waitForContent('content after reboot', await panel.display());
    figures.add('`systemctl reboot` → content again', (shown.at - rebootAt) / 1000);
    await backendSeesCurrent();
    console.log(`[boot] backend's view after the reboot: ${summarise(sampler.since(rebootAt))}`);
    await backendSaysLastStart('reboot', rebootAt);
  });

  it('backend stopped, reboot → the cached content with the stale badge; backend back → live again', async () => {
    const doc = await panel.display();
    await panel.backend.stop();
    const reset = panel.m.waitForReset(180_000);
    const rebootAt = performance.now();
    await panel.shell().send('systemctl reboot');
    await reset;
    // The cached document's look, with the badge once the freshness window has run out
    // (counted from the app's start: it may already be over when Chromium first paints).
    const stale = await panel.waitForContent('cached content with stale badge', doc, {
      stale: true,
      timeoutMs: BOOT_TO_CONTENT_TIMEOUT_MS + FRESHNESS_WINDOW_SECONDS * 1000,
    });
    figures.add(
      'reboot without backend → cached content with stale badge',
      (stale.at - rebootAt) / 1000,
      `freshness window ${FRESHNESS_WINDOW_SECONDS} s`,
    );
    console.log(`[boot] stale: ${describeMatch(stale.match)}; ${stale.png}`);

    await panel.backend.start();
    await backendSeesCurrent();
    const live = await panel.waitForContent('live again, no badge', await panel.display(), { timeoutMs: BOOT_TO_CONTENT_TIMEOUT_MS });
    expect(live.match.badgeShown).toBe(false);
    expect((await panel.backend.panel(panel.panelId)).state).toBe('live');
  });
});
