import type { Got } from 'got';
import type { Logger } from '@airpanel/node-support/logger';
import { type CertificateProblem, certificateProblemOf, describeCertificateProblem } from './certificate-problems.js';
import type { TlsClientOptions, TrustStore } from './trust-store.js';

export type TransportChannel = 'mqtt' | 'http';

export interface PanelTransportOptions {
  trust: TrustStore;
  logger: Logger;
  /**
   * A certificate problem began on a channel (or changed): `summary` is the
   * `TLS-n: reason (error code, endpoint)` line for the status's `lastError`.
   */
  onCertificateProblem?: (problem: CertificateProblem, summary: string, channel: TransportChannel) => void;
}

/**
 * The panel's connections as one trust decision: the trust store's TLS options for the MQTT
 * link and for every HTTP client, and one place that names certificate problems (TLS-1…4),
 * logs them once per change rather than at every reconnect attempt, and logs when they end.
 */
export class PanelTransport {
  private readonly current = new Map<TransportChannel, string>();

  constructor(private readonly options: PanelTransportOptions) {}

  get trust(): TrustStore {
    return this.options.trust;
  }

  /** TLS options for the MQTT link (MQTT.js hands them to `tls.connect`). */
  mqttTls(): TlsClientOptions {
    return this.options.trust.tlsOptions();
  }

  /**
   * `base` with the trust store's CA and client certificate, and certificate problems named:
   * the error a request fails with starts with its TLS code, and the problem is reported.
   */
  http(base: Got): Got {
    return base.extend({
      https: this.options.trust.gotHttpsOptions(),
      hooks: {
        beforeError: [
          (error) => {
            const problem = this.connectionFailed('http', error, originOf(error.options?.url));
            if (problem && !error.message.startsWith(problem.code)) error.message = `${problem.code}: ${error.message}`;
            return error;
          },
        ],
        afterResponse: [
          (response) => {
            this.connected('http');
            return response;
          },
        ],
      },
    });
  }

  /** A connection attempt failed: its certificate problem (logged and reported once), or null. */
  connectionFailed(channel: TransportChannel, error: unknown, endpoint: string): CertificateProblem | null {
    const problem = certificateProblemOf(error);
    if (!problem) return null;
    const summary = describeCertificateProblem(problem, endpoint);
    if (this.current.get(channel) === summary) return problem;
    this.current.set(channel, summary);
    this.options.logger.error('certificate problem', {
      code: problem.code,
      channel,
      endpoint,
      reason: problem.reason,
      errorCode: problem.errorCode,
    });
    try {
      this.options.onCertificateProblem?.(problem, summary, channel);
    } catch (err) {
      this.options.logger.error('certificate problem listener threw', { error: String(err) });
    }
    return problem;
  }

  /** A connection on `channel` succeeded: a certificate problem it had is over. */
  connected(channel: TransportChannel): void {
    const was = this.current.get(channel);
    if (!was) return;
    this.current.delete(channel);
    this.options.logger.info('certificate problem over', { channel, was });
  }

  /** The certificate problem each channel has now (none: empty). */
  problems(): Partial<Record<TransportChannel, string>> {
    return Object.fromEntries(this.current);
  }
}

/** `https://host:port` of a request URL: endpoints are logged without path or credentials. */
function originOf(url: unknown): string {
  try {
    return new URL(String(url)).origin;
  } catch {
    return 'unknown endpoint';
  }
}
