// A root shell inside the guest, for what only root on the panel can do (kill the app,
// `systemctl reboot`, `rauc install`). TEST-ONLY: it is systemd's debug shell
// (`systemd.debug_shell=ttyS1` on the kernel command line), which exists only in the test
// copy of the image (see boot-image.ts); the production image has no shell on any port.
// The shell sits on the guest's second serial port, which QEMU exposes as a unix socket.
//
// Each command is sent base64-encoded and framed by two markers that the guest prints, so
// that the echo of the typed line (the tty echoes input) never contains the marker text.
import { connect, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

export interface ShellResult {
  code: number;
  output: string;
}

/** Output kept per command (a runaway command cannot fill the test's memory). */
const MAX_OUTPUT = 1 << 20;

export class GuestShell {
  private socket: Socket | null = null;
  private received = '';
  private counter = 0;

  constructor(private readonly socketPath: string) {}

  private async ensureConnected(): Promise<Socket> {
    if (this.socket && !this.socket.destroyed) return this.socket;
    const socket = await new Promise<Socket>((resolve, reject) => {
      const s = connect(this.socketPath);
      s.once('connect', () => resolve(s));
      s.once('error', reject);
    });
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      this.received = (this.received + chunk).slice(-MAX_OUTPUT);
    });
    socket.on('error', () => socket.destroy());
    this.socket = socket;
    return socket;
  }

  /**
   * Runs `command` with /bin/sh in the guest and resolves with its exit code and output
   * (stdout and stderr together, carriage returns removed). Rejects after `timeoutMs`,
   * e.g. while the guest has no shell yet (early boot) or is rebooting.
   */
  async run(command: string, timeoutMs = 60_000): Promise<ShellResult> {
    const id = `${process.pid}x${++this.counter}`;
    const begin = `AIRPANEL_BEGIN_${id}`;
    const endPattern = new RegExp(`AIRPANEL_END_${id}_(\\d+)`);
    const deadline = performance.now() + timeoutMs;
    // Callers use the shell only once the guest is up (content on screen): input typed into
    // the serial port earlier would reach the firmware or GRUB and stop the boot. A shell
    // that restarts (it is respawned) misses input sent meanwhile: resend until it answers.
    let sentAt = -Infinity;
    for (;;) {
      const socket = await this.ensureConnected();
      // Resent only while the shell has not started it (no BEGIN yet): never run twice.
      if (!this.received.includes(begin) && performance.now() - sentAt > 10_000) {
        this.received = '';
        // Interrupt any half-typed line, then the framed command as base64: the typed line
        // holds no quote or marker, whatever the command contains.
        const script = `printf '%s_%s\\n' AIRPANEL_BEGIN ${id}\n( ${command}\n) </dev/null 2>&1\nprintf '%s_%s_%s\\n' AIRPANEL_END ${id} $?\n`;
        socket.write(`\x03\necho ${Buffer.from(script).toString('base64')} | base64 -d | sh\n`);
        sentAt = performance.now();
      }
      const end = endPattern.exec(this.received);
      const start = this.received.indexOf(begin);
      if (end && start >= 0 && end.index > start) {
        const output = this.received
          .slice(start + begin.length, end.index)
          .replace(/\r/g, '')
          .replace(/^\n/, '');
        return { code: Number(end[1]), output };
      }
      if (performance.now() > deadline) {
        throw new Error(
          `guest shell: no answer to \`${command}\` within ${Math.round(timeoutMs / 1000)} s; got:\n${this.received.slice(-2_000)}`,
        );
      }
      await sleep(250);
    }
  }

  /** Like run, but throws when the command exits non-zero. */
  async must(command: string, timeoutMs = 60_000): Promise<string> {
    const r = await this.run(command, timeoutMs);
    if (r.code !== 0) throw new Error(`guest: \`${command}\` exited ${r.code}:\n${r.output}`);
    return r.output;
  }

  /** Sends a command without waiting for it to finish (e.g. `systemctl reboot`). */
  async send(command: string): Promise<void> {
    const socket = await this.ensureConnected();
    socket.write(`\x03\necho ${Buffer.from(command).toString('base64')} | base64 -d | sh\n`);
  }

  close(): void {
    this.socket?.destroy();
    this.socket = null;
  }
}
