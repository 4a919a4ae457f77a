// One emulated panel PC: QEMU (TCG: no KVM on these machines) with OVMF UEFI firmware and its
// own copy of the firmware variables, a virtio disk that is a qcow2 overlay on the panel's
// image (the image itself is never written), virtio-vga with no display window, the serial
// console into a log file, QMP on a unix socket (screendump, reset, quit), and user-mode
// networking restricted to the guest forwards given (each one reaches a port on the host's
// 127.0.0.1 and nothing else: `restrict=on` drops every other connection the guest makes).
//
//   off ──powerOn──▶ running ──powerCut (SIGKILL: the power is cut, nothing flushed)──▶ off
//                      │  guest reboot / watchdog reset: QEMU resets the machine, stays running
//                      └──quit (QMP)──▶ off
//
// The overlay and the firmware variables live as long as the machine object: a power cut
// and the next powerOn see the same disk, as a real panel does.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, copyFileSync, existsSync, mkdirSync, openSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { QmpClient } from './qmp.js';
import { Screen } from './screen.js';

/** A guest address:port that reaches `hostPort` on the host's 127.0.0.1. */
export interface GuestForward {
  guestAddress: string;
  guestPort: number;
  hostPort: number;
}

export interface QemuMachineOptions {
  /** Short name used in file names and log lines. */
  name: string;
  /** The raw disk image the overlay is built on (never written). */
  baseImage: string;
  /** Overlay, firmware variables, sockets and logs go here. */
  workDir: string;
  /** Every screenshot is saved here as PNG. */
  artifactsDir: string;
  guestForwards: GuestForward[];
  /** A second serial port on a unix socket (the test copy's debug shell listens there). */
  debugSerial?: boolean;
  /** Read-only raw disks attached after the panel's disk (/dev/vdb, /dev/vdc… in the guest). */
  extraDisks?: string[];
  memoryMiB?: number;
  cpus?: number;
  /**
   * TCG's threading: `multi` (default) gives each vCPU its own host thread; `single` runs them
   * all in one. `multi` is what the product's timings fit: under `single` (2026-12-03) the
   * guest was 2.4 × slower (power-on → content 234 s against 97 s), and a new app release then
   * missed the loader's 60 s health window and was rolled back. Under `multi` the guest
   * kernel oopsed twice that day ("int3" in kmem_cache_free and in enqueue_timer, early in
   * the boot of slot B after a RAUC install): most likely an int3 of the kernel's live code
   * patching met by the other vCPU. `AIRPANEL_QEMU_TCG_THREAD` overrides the default.
   */
  tcgThread?: 'single' | 'multi';
  /** QEMU's -cpu model; `max` gives the guest the SSE levels Chromium needs under TCG. */
  cpuModel?: string;
  qemuBinary?: string;
  qemuImgBinary?: string;
  ovmfCode?: string;
  ovmfVarsTemplate?: string;
  /** How screenshots are polled while waiting for pixels. */
  screenPollMs?: number;
  /**
   * Let the chipset's TCO watchdog reset the machine, as on a panel PC (QEMU's q35 straps it
   * "no reboot" by default): systemd arms it (RuntimeWatchdogSec, and RebootWatchdogSec across
   * a reboot), so a hang in the kernel, a reboot or the firmware ends in a reset. Off by default
   * for the smoke boot: under a loaded CI host a starved guest could miss its pings.
   */
  watchdogResets?: boolean;
  log?: (line: string) => void;
}

export interface ScreenWait {
  screen: Screen;
  /** Host monotonic time (performance.now) of the screendump that satisfied the check. */
  at: number;
  png: string;
}

const OVMF_CANDIDATES = [
  ['/usr/share/OVMF/OVMF_CODE_4M.fd', '/usr/share/OVMF/OVMF_VARS_4M.fd'],
  ['/usr/share/OVMF/OVMF_CODE.fd', '/usr/share/OVMF/OVMF_VARS.fd'],
] as const;

export function findOvmf(): { code: string; vars: string } | null {
  for (const [code, vars] of OVMF_CANDIDATES) if (existsSync(code) && existsSync(vars)) return { code, vars };
  return null;
}

function tcgThreadFromEnv(): 'single' | 'multi' {
  const v = process.env.AIRPANEL_QEMU_TCG_THREAD ?? 'multi';
  if (v !== 'single' && v !== 'multi') throw new Error(`AIRPANEL_QEMU_TCG_THREAD is "${v}": say single or multi`);
  return v;
}

/** Commas separate QEMU's sub-options; a literal comma is written twice. */
function qemuEscape(value: string): string {
  return value.replaceAll(',', ',,');
}

export class QemuMachine {
  private child: ChildProcess | null = null;
  private qmp: QmpClient | null = null;
  private shotCounter = 0;
  private bootCounter = 0;
  private exited: Promise<void> = Promise.resolve();
  /** Host monotonic time of the last powerOn (performance.now). */
  poweredOnAt = 0;
  readonly overlay: string;
  readonly consoleLog: string;
  readonly debugSocket: string;
  private readonly qmpSocket: string;
  private readonly varsFile: string;
  private readonly qemuLog: string;
  private readonly log: (line: string) => void;

  constructor(private readonly o: QemuMachineOptions) {
    this.overlay = join(o.workDir, `${o.name}.qcow2`);
    this.varsFile = join(o.workDir, `${o.name}-OVMF_VARS.fd`);
    this.qmpSocket = join(o.workDir, `${o.name}.qmp`);
    this.debugSocket = join(o.workDir, `${o.name}.ttyS1`);
    this.consoleLog = join(o.workDir, `${o.name}-console.log`);
    this.qemuLog = join(o.workDir, `${o.name}-qemu.log`);
    this.log = o.log ?? ((line) => console.log(`[boot ${o.name}] ${line}`));
  }

  get running(): boolean {
    return this.child !== null;
  }

  /** Which power-on this is (1 for the first): screenshots are grouped by it. */
  get boot(): number {
    return this.bootCounter;
  }

  /** The overlay on the base image, a fresh copy of the firmware variables, an empty console log. */
  create(): void {
    mkdirSync(this.o.workDir, { recursive: true });
    mkdirSync(this.o.artifactsDir, { recursive: true });
    rmSync(this.overlay, { force: true });
    // Appended to across this machine's boots; an earlier run's lines would be misread as this one's.
    rmSync(this.consoleLog, { force: true });
    const r = spawnSync(
      this.o.qemuImgBinary ?? 'qemu-img',
      ['create', '-q', '-f', 'qcow2', '-b', this.o.baseImage, '-F', 'raw', this.overlay],
      { encoding: 'utf8' },
    );
    if (r.status !== 0) throw new Error(`qemu-img create failed: ${r.stderr}`);
    const ovmf = this.o.ovmfCode && this.o.ovmfVarsTemplate ? { code: this.o.ovmfCode, vars: this.o.ovmfVarsTemplate } : findOvmf();
    if (!ovmf) throw new Error('OVMF firmware not found (Debian package ovmf)');
    copyFileSync(ovmf.vars, this.varsFile);
  }

  private args(): string[] {
    const ovmfCode = this.o.ovmfCode ?? findOvmf()!.code;
    const forwards = this.o.guestForwards.map(
      // `cmd:` starts one socat per guest connection (a `tcp:` chardev would carry only one).
      (f) => `,guestfwd=tcp:${f.guestAddress}:${f.guestPort}-cmd:${qemuEscape(`socat - TCP:127.0.0.1:${f.hostPort}`)}`,
    );
    for (const f of this.o.guestForwards) {
      if (!/^10\.0\.2\.\d{1,3}$/.test(f.guestAddress))
        throw new Error(`guest forward address ${f.guestAddress} is outside QEMU's user network 10.0.2.0/24`);
    }
    const args = [
      '-name',
      `airpanel-${this.o.name}`,
      '-machine',
      'q35',
      '-accel',
      `tcg,thread=${this.o.tcgThread ?? tcgThreadFromEnv()}`,
      '-cpu',
      this.o.cpuModel ?? 'max',
      '-smp',
      String(this.o.cpus ?? 2),
      '-m',
      String(this.o.memoryMiB ?? 2048),
      '-nodefaults',
      '-no-user-config',
      '-rtc',
      'base=utc',
      '-drive',
      `if=pflash,format=raw,unit=0,readonly=on,file=${qemuEscape(ovmfCode)}`,
      '-drive',
      `if=pflash,format=raw,unit=1,file=${qemuEscape(this.varsFile)}`,
      '-drive',
      `if=virtio,format=qcow2,file=${qemuEscape(this.overlay)}`,
      ...(this.o.extraDisks ?? []).flatMap((disk) => ['-drive', `if=virtio,format=raw,readonly=on,file=${qemuEscape(disk)}`]),
      '-device',
      'virtio-vga',
      '-display',
      'none',
      '-netdev',
      `user,id=net0,restrict=on${forwards.join('')}`,
      '-device',
      'virtio-net-pci,netdev=net0',
      '-chardev',
      `file,id=ttyS0,path=${qemuEscape(this.consoleLog)},append=on`,
      '-serial',
      'chardev:ttyS0',
    ];
    if (this.o.debugSerial) {
      args.push('-chardev', `socket,id=ttyS1,path=${qemuEscape(this.debugSocket)},server=on,wait=off`, '-serial', 'chardev:ttyS1');
    }
    if (this.o.watchdogResets) args.push('-global', 'ICH9-LPC.noreboot=false');
    args.push('-qmp', `unix:${qemuEscape(this.qmpSocket)},server=on,wait=off`);
    return args;
  }

  /** Starts QEMU (power on) and connects to its QMP socket. */
  async powerOn(): Promise<void> {
    if (this.child) throw new Error(`${this.o.name} is already on`);
    if (!existsSync(this.overlay)) this.create();
    rmSync(this.qmpSocket, { force: true });
    rmSync(this.debugSocket, { force: true });
    this.bootCounter += 1;
    const out = openSync(this.qemuLog, 'a');
    const child = spawn(this.o.qemuBinary ?? 'qemu-system-x86_64', this.args(), { stdio: ['ignore', out, out] });
    closeSync(out);
    this.poweredOnAt = performance.now();
    this.child = child;
    this.exited = new Promise((resolve) =>
      child.once('exit', (code, signal) => {
        if (this.child === child) {
          this.child = null;
          this.log(`QEMU exited (${code ?? signal})`);
        }
        resolve();
      }),
    );
    this.log(`power on (boot ${this.bootCounter})`);
    try {
      this.qmp = await QmpClient.connect(this.qmpSocket);
    } catch (err) {
      await this.powerCut();
      throw new Error(`${(err as Error).message}\n${this.tail(this.qemuLog)}`);
    }
  }

  /** The power is cut: QEMU is SIGKILLed, nothing the guest had not written reaches the disk. */
  async powerCut(): Promise<void> {
    const child = this.child;
    this.qmp?.close();
    this.qmp = null;
    if (!child) return;
    child.kill('SIGKILL');
    await this.exited;
    this.child = null;
    this.log('power cut');
  }

  /** Elapsed seconds since the last power-on. */
  sincePowerOn(at = performance.now()): number {
    return (at - this.poweredOnAt) / 1000;
  }

  private requireQmp(): QmpClient {
    if (!this.qmp || !this.child) throw new Error(`${this.o.name} is off`);
    return this.qmp;
  }

  /** Waits for the guest to reset itself (reboot, watchdog): QMP's RESET event. */
  waitForReset(timeoutMs: number): Promise<unknown> {
    return this.requireQmp().nextEvent('RESET', timeoutMs);
  }

  /** The screen now, saved as artifacts/…/<name>-b<boot>-<n>-<label>.png. */
  async screendump(label: string): Promise<{ screen: Screen; png: string }> {
    const qmp = this.requireQmp();
    const ppm = join(this.o.workDir, `${this.o.name}-screen.ppm`);
    rmSync(ppm, { force: true });
    await qmp.execute('screendump', { filename: ppm });
    const screen = Screen.readPpm(ppm);
    this.shotCounter += 1;
    const safe = label.replace(/[^a-z0-9-]+/gi, '-').slice(0, 40);
    const png = join(this.o.artifactsDir, `${this.o.name}-b${this.bootCounter}-${String(this.shotCounter).padStart(3, '0')}-${safe}.png`);
    screen.savePng(png);
    return { screen, png };
  }

  /**
   * Polls the screen until `check` holds; every screenshot is kept. Rejects after `timeoutMs`
   * (or when QEMU is gone) with the last screenshot's file name.
   */
  async waitForScreen(what: string, check: (s: Screen) => boolean, timeoutMs: number): Promise<ScreenWait> {
    const deadline = performance.now() + timeoutMs;
    let last = '';
    for (;;) {
      if (!this.child)
        throw new Error(`${this.o.name} went off while waiting for ${what}; last screen ${last}\n${this.tail(this.consoleLog)}`);
      const at = performance.now();
      try {
        const { screen, png } = await this.screendump(what);
        last = png;
        if (check(screen)) return { screen, at, png };
      } catch (err) {
        // The display may not exist yet right after power-on, or QEMU may be resetting.
        if (!this.child) continue;
        if (!/not ready|No such|not a binary|display/i.test((err as Error).message)) throw err;
      }
      if (performance.now() > deadline) {
        throw new Error(
          `${this.o.name}: no ${what} on screen within ${Math.round(timeoutMs / 1000)} s; last screen ${last}\n${this.tail(this.consoleLog)}`,
        );
      }
      await sleep(this.o.screenPollMs ?? 3_000);
    }
  }

  /** Waits for a line of the serial console matching `pattern` after byte offset `from`. */
  async waitForConsole(pattern: RegExp, timeoutMs: number, from = 0): Promise<string> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const text = existsSync(this.consoleLog) ? readFileSync(this.consoleLog, 'latin1').slice(from) : '';
      const m = pattern.exec(text);
      if (m) return m[0];
      if (performance.now() > deadline) throw new Error(`${this.o.name}: console never showed ${pattern}\n${this.tail(this.consoleLog)}`);
      await sleep(1_000);
    }
  }

  /** Current size of the console log: pass it to waitForConsole to see only what follows. */
  consoleOffset(): number {
    return existsSync(this.consoleLog) ? readFileSync(this.consoleLog, 'latin1').length : 0;
  }

  /** The last lines of a log file, for failure messages. */
  tail(path: string, lines = 40): string {
    if (!existsSync(path)) return `(${path} absent)`;
    return `--- ${path} (tail) ---\n${readFileSync(path, 'latin1').split('\n').slice(-lines).join('\n')}`;
  }

  /** Powers off (a cut: these tests never need an orderly QEMU shutdown). */
  async dispose(): Promise<void> {
    await this.powerCut();
  }
}
