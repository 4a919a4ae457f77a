import type { ServerOptions as HttpsServerOptions } from 'node:https';
import type { Server as TlsServer, TlsOptions as NodeTlsOptions } from 'node:tls';
import type { FastifyInstance } from 'fastify';
import type { Logger } from '../logger.js';
import type { MqttGateway } from '../mqtt/gateway.js';
import { RENEWAL_CHECK_INTERVAL_MS, hostOf, type BackendTls } from './backend-tls.js';
import {
  addStrictTransportSecurity,
  checkPanelCertificate,
  enforcePanelCertificates,
  type PanelCertificateIssuer,
  type TransportVerdict,
} from './panel-certificates.js';
import { readCertificateRequest } from './x509.js';

/**
 * The pieces createBackend needs to run HTTPS and MQTTS from a BackendTls: kept here so the
 * backend's own files only call them.
 */

/** Every name the server certificate must carry: the listening host and the public URLs' hosts. */
export function serverNamesOf(host: string, urls: (string | undefined)[]): string[] {
  const names = [host, ...urls.map(hostOf)].filter((n): n is string => n !== null && n !== '' && n !== '0.0.0.0' && n !== '::');
  return [...new Set(names)];
}

/** TLS 1.2 minimum; a client certificate is asked for (never required at the handshake: the admin has none). */
function commonTlsOptions(tls: BackendTls): NodeTlsOptions {
  return {
    ...tls.credentials(),
    minVersion: 'TLSv1.2',
    ...(tls.ca ? { ca: tls.ca.caCertificatePem, requestCert: true, rejectUnauthorized: false } : {}),
  };
}

export function httpsServerOptions(tls: BackendTls): HttpsServerOptions {
  return commonTlsOptions(tls);
}

export interface EmbeddedBrokerTls {
  options: NodeTlsOptions;
  /** The certificate rule for a panel that proved its key (absent: keys alone). */
  checkPanel?: (panelId: string, socket: unknown) => TransportVerdict;
  /** Hands the broker's TLS server to whoever renews the certificate. */
  attach(server: TlsServer): void;
}

export function embeddedBrokerTls(tls: BackendTls): EmbeddedBrokerTls {
  const ca = tls.ca;
  return {
    options: commonTlsOptions(tls),
    ...(ca ? { checkPanel: (panelId: string, socket: unknown) => checkPanelCertificate(ca, panelId, socket) } : {}),
    attach: (server) => tls.onRenewed(() => server.setSecureContext(commonTlsOptions(tls))),
  };
}

/** HSTS, the client-certificate check of panel requests, and renewal of the HTTPS certificate. */
export function secureHttpApp(app: FastifyInstance, tls: BackendTls, panelOf: (authorization: string | undefined) => string | null): void {
  addStrictTransportSecurity(app);
  if (tls.ca) enforcePanelCertificates(app, tls.ca, panelOf);
  tls.onRenewed(() => (app.server as unknown as TlsServer).setSecureContext(commonTlsOptions(tls)));
}

/** Checks the server certificate's renewal every few hours; returns the stop function. */
export function startCertificateRenewal(tls: BackendTls, logger: Logger): () => void {
  const timer = setInterval(() => {
    tls.renewIfDue().then(
      (renewed) => {
        if (renewed) logger.info('tls: server certificate renewed; new connections use it', tls.describe());
      },
      (error: unknown) => logger.error('tls: renewing the server certificate failed', { error: (error as Error).message }),
    );
  }, RENEWAL_CHECK_INTERVAL_MS);
  timer.unref();
  return () => clearInterval(timer);
}

/**
 * Deleting a panel or rotating its key (both reach the gateway) makes its client certificate
 * useless: the CA forgets it as the panel's current one and lists its serial on the CRL.
 */
export function revokingCertificates(gateway: MqttGateway, tls: BackendTls): MqttGateway {
  const ca = tls.ca;
  if (!ca) return gateway;
  return Object.assign(Object.create(gateway) as MqttGateway, {
    async registerPanelCredentials(panelId: string, apiKey: string): Promise<void> {
      await gateway.registerPanelCredentials(panelId, apiKey);
      await ca.revokePanel(panelId);
    },
    async removePanelCredentials(panelId: string): Promise<void> {
      await ca.revokePanel(panelId);
      await gateway.removePanelCredentials(panelId);
    },
  });
}

/** Registration's view of the CA: the CA to hand out and CSR signing (null without a private CA). */
export function panelCertificateIssuer(tls: BackendTls): PanelCertificateIssuer | null {
  const ca = tls.ca;
  if (!ca) return null;
  return {
    caCertificatePem: tls.caCertificateForPanels,
    checkRequest: async (csrPem) => void (await readCertificateRequest(csrPem)),
    sign: async (panelId, csrPem) => (await ca.signPanelCertificate(panelId, csrPem)).certificatePem,
  };
}

/** One line for people: the certificate's names and expiry, and whether client certificates count. */
export function transportSummary(tls: BackendTls): string {
  const { names, notAfter, source } = tls.describe();
  return (
    `TLS 1.2+ with a certificate for ${names.join(', ')} (${source === 'files' ? 'from --tls-cert' : 'issued by the private CA'}), expires ${notAfter}; ` +
    (tls.ca ? 'panel client certificates accepted (mTLS; the API key stays required)' : 'no client certificates (no --tls-ca-dir)')
  );
}

export function logTransportAtStart(tls: BackendTls, logger: Logger): void {
  const { names, notAfter, source } = tls.describe();
  logger.info(`tls: ${transportSummary(tls)}`, { names, notAfter, source, clientCertificates: tls.ca !== null });
}
