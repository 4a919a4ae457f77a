import type { TLSSocket } from 'node:tls';
import type { FastifyInstance } from 'fastify';

/** What the CA tells about panels' client certificates (PrivateCa implements it). */
export interface PanelCertificateRecord {
  panelHasCertificate(panelId: string): boolean;
  isCurrentPanelCertificate(panelId: string, serial: string): boolean;
}

export type TransportVerdict = { ok: true } | { ok: false; reason: string };

const ACCEPTED: TransportVerdict = { ok: true };

function isTlsSocket(socket: unknown): socket is TLSSocket {
  return typeof (socket as TLSSocket | null)?.getPeerCertificate === 'function';
}

/**
 * Decides whether a connection may act as `panelId`, after its API key was checked. The key
 * stays required (second factor); a certificate adds to it:
 * - a panel that was given a client certificate must present it, on every connection;
 * - a presented certificate must chain to the CA, name this panel (CN = panel id), and be
 *   the panel's current one (not replaced, not revoked by a delete or a key rotation);
 * - a panel without a certificate connects with its key alone (mTLS is optional per panel).
 */
export function checkPanelCertificate(record: PanelCertificateRecord, panelId: string, socket: unknown): TransportVerdict {
  const cert = isTlsSocket(socket) ? socket.getPeerCertificate() : null;
  const presented = cert !== null && Object.keys(cert).length > 0;
  if (!presented) {
    return record.panelHasCertificate(panelId)
      ? { ok: false, reason: `panel ${panelId} has a client certificate and must present it` }
      : ACCEPTED;
  }
  const tlsSocket = socket as TLSSocket;
  if (!tlsSocket.authorized)
    return { ok: false, reason: `client certificate refused: ${String(tlsSocket.authorizationError ?? 'not signed by the backend CA')}` };
  const commonName = cert.subject?.CN;
  if (commonName !== panelId)
    return { ok: false, reason: `the client certificate belongs to ${JSON.stringify(commonName ?? '')}, not to panel ${panelId}` };
  if (!record.isCurrentPanelCertificate(panelId, cert.serialNumber)) {
    return {
      ok: false,
      reason: `the client certificate of panel ${panelId} was revoked (panel deleted, key rotated, or a newer certificate issued)`,
    };
  }
  return ACCEPTED;
}

/** HSTS: a browser (the back office) that once reached the API over HTTPS never falls back to HTTP. */
export const HSTS_HEADER = 'max-age=31536000';

export function addStrictTransportSecurity(app: FastifyInstance): void {
  app.addHook('onSend', (_request, reply, payload, done) => {
    reply.header('strict-transport-security', HSTS_HEADER);
    done(null, payload);
  });
}

/**
 * Checks the client certificate of every request made with a panel's key, before any route
 * (the backend's own, the release feed's, the panel readings'): one place for all of them.
 * `panelOf` answers the panel a bearer token belongs to (null for the admin or no token).
 */
export function enforcePanelCertificates(
  app: FastifyInstance,
  record: PanelCertificateRecord,
  panelOf: (authorization: string | undefined) => string | null,
): void {
  app.addHook('onRequest', (request, reply, done) => {
    const panelId = panelOf(request.headers.authorization);
    if (panelId === null) return done();
    const verdict = checkPanelCertificate(record, panelId, request.raw.socket);
    if (verdict.ok) return done();
    void reply
      .code(401)
      .header('www-authenticate', 'Bearer error="invalid_token"')
      .type('application/json; charset=utf-8')
      .send(JSON.stringify({ error: { code: 'client-certificate-refused', message: verdict.reason } }));
  });
}

/** What registration needs from the CA (PanelService takes it; absent without `--tls-ca-dir`). */
export interface PanelCertificateIssuer {
  /** The CA panels must trust, handed out at registration; null when the server certificate is from a public CA. */
  caCertificatePem: string | null;
  /** Throws a readable error for a request that cannot be signed, before anything is created. */
  checkRequest(csrPem: string): Promise<void>;
  /** Signs the panel's client certificate (CN = panel id); answers its PEM. */
  sign(panelId: string, csrPem: string): Promise<string>;
}
