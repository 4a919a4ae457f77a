/**
 * Crash-loop policy of a panel host: what to do when the renderer crashes, hangs or loses
 * its GPU process. Pure (no clock, no timers, no runtime API): the host passes the time in
 * and carries out the decision, so the policy is unit-tested without Electron.
 *
 * - Each fault is answered with a reload after an exponential backoff
 *   (`baseBackoffMs · 2^(n-1)`, capped at `maxBackoffMs`, n = faults inside the window).
 * - The `maxFaults`-th fault inside `windowMs` trips the loop breaker: the host shows the
 *   maintenance screen with a code a technician can read and reports a host fault. The
 *   breaker stays tripped until `reset()` (an operator reload/restart command).
 */

export const HOST_FAULT_KINDS = ['renderer-crash', 'renderer-hang', 'gpu-lost'] as const;
export type HostFaultKind = (typeof HOST_FAULT_KINDS)[number];

/** Maintenance code per fault kind that tripped the breaker (matches PanelView's code format). */
export const CRASH_LOOP_CODES: Record<HostFaultKind, string> = {
  'renderer-crash': 'RND-1',
  'renderer-hang': 'RND-2',
  'gpu-lost': 'GPU-1',
};

export interface CrashLoopPolicyOptions {
  /** Faults inside the window that trip the breaker. */
  maxFaults: number;
  windowMs: number;
  baseBackoffMs: number;
  maxBackoffMs: number;
}

export const DEFAULT_CRASH_LOOP_OPTIONS: CrashLoopPolicyOptions = {
  maxFaults: 3,
  windowMs: 5 * 60_000,
  baseBackoffMs: 1_000,
  maxBackoffMs: 30_000,
};

export type RecoveryDecision =
  | { action: 'reload'; delayMs: number; faultsInWindow: number }
  | { action: 'maintenance'; code: string; faultsInWindow: number; reason: string };

export class CrashLoopPolicy {
  readonly options: CrashLoopPolicyOptions;
  private faults: { kind: HostFaultKind; at: number }[] = [];
  private tripped: { code: string; reason: string } | null = null;

  constructor(options: Partial<CrashLoopPolicyOptions> = {}) {
    const o = { ...DEFAULT_CRASH_LOOP_OPTIONS, ...options };
    if (!(o.maxFaults >= 1) || !(o.windowMs > 0) || !(o.baseBackoffMs >= 0) || !(o.maxBackoffMs >= o.baseBackoffMs)) {
      throw new RangeError(`invalid crash-loop options: ${JSON.stringify(o)}`);
    }
    this.options = o;
  }

  /** Records a fault at `nowMs` and decides what the host does next. */
  onFault(kind: HostFaultKind, nowMs: number): RecoveryDecision {
    this.faults = this.faults.filter((f) => nowMs - f.at < this.options.windowMs);
    this.faults.push({ kind, at: nowMs });
    const n = this.faults.length;
    if (this.tripped) return { action: 'maintenance', ...this.tripped, faultsInWindow: n };
    if (n >= this.options.maxFaults) {
      const code = CRASH_LOOP_CODES[kind];
      const reason = `${n} renderer faults within ${Math.round(this.options.windowMs / 1000)} s (last: ${kind})`;
      this.tripped = { code, reason };
      return { action: 'maintenance', code, reason, faultsInWindow: n };
    }
    const delayMs = Math.min(this.options.maxBackoffMs, this.options.baseBackoffMs * 2 ** (n - 1));
    return { action: 'reload', delayMs, faultsInWindow: n };
  }

  /** The maintenance code while the breaker is tripped, else null. */
  get maintenanceCode(): string | null {
    return this.tripped?.code ?? null;
  }

  /** Faults still inside the window at `nowMs` (for status reports). */
  faultsInWindow(nowMs: number): number {
    return this.faults.filter((f) => nowMs - f.at < this.options.windowMs).length;
  }

  /** Forget every fault and close the breaker (operator reload/restart). */
  reset(): void {
    this.faults = [];
    this.tripped = null;
  }
}
