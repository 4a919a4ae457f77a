/**
 * Technician codes for certificate problems on the panel's connections (also in
 * `src-main/core/README.md`, "Maintenance codes"). They appear in the logs and in the status's
 * `lastError`, never as a maintenance screen: the panel keeps its last-known-good content.
 *
 * | code  | meaning                                                              |
 * |-------|----------------------------------------------------------------------|
 * | TLS-1 | the server's certificate is not signed by the CA the panel trusts    |
 * | TLS-2 | the server's certificate has expired or is not valid yet             |
 * | TLS-3 | the server's certificate does not name the host the panel dialled    |
 * | TLS-4 | the server refused the panel's client certificate (mTLS)             |
 */
export const CERTIFICATE_PROBLEM_CODES = {
  unknownCa: 'TLS-1',
  outsideValidity: 'TLS-2',
  wrongName: 'TLS-3',
  clientRefused: 'TLS-4',
} as const;
export type CertificateProblemCode = (typeof CERTIFICATE_PROBLEM_CODES)[keyof typeof CERTIFICATE_PROBLEM_CODES];

export interface CertificateProblem {
  code: CertificateProblemCode;
  /** One sentence a technician can act on. */
  reason: string;
  /** The error code OpenSSL or Node gave (`CERT_HAS_EXPIRED`, `ERR_TLS_CERT_ALTNAME_INVALID`…). */
  errorCode: string;
}

const BY_ERROR_CODE: Record<string, { code: CertificateProblemCode; reason: string }> = {};
function codes(code: CertificateProblemCode, reason: string, errorCodes: string[]): void {
  for (const e of errorCodes) BY_ERROR_CODE[e] = { code, reason };
}
codes('TLS-1', "the server's certificate is not signed by the CA this panel trusts", [
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_SIGNATURE_FAILURE',
  'UNABLE_TO_DECRYPT_CERT_SIGNATURE',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'INVALID_CA',
  'INVALID_PURPOSE',
  'PATH_LENGTH_EXCEEDED',
]);
codes('TLS-2', "the server's certificate has expired or is not valid yet (or the panel's clock is far off)", [
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERROR_IN_CERT_NOT_BEFORE_FIELD',
  'ERROR_IN_CERT_NOT_AFTER_FIELD',
]);
codes('TLS-3', "the server's certificate does not name the host in panel.json", [
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'HOSTNAME_MISMATCH',
  'ERR_TLS_CERT_ALTNAME_FORMAT',
]);
// Alerts the server sent about the certificate this panel presented (or did not present).
codes('TLS-4', "the server refused this panel's client certificate (missing, revoked, expired or from another CA)", [
  'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED',
  'ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE',
  'ERR_SSL_SSLV3_ALERT_CERTIFICATE_REVOKED',
  'ERR_SSL_SSLV3_ALERT_CERTIFICATE_EXPIRED',
  'ERR_SSL_SSLV3_ALERT_CERTIFICATE_UNKNOWN',
  'ERR_SSL_SSLV3_ALERT_UNSUPPORTED_CERTIFICATE',
  'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA',
  'ERR_SSL_TLSV1_ALERT_ACCESS_DENIED',
]);

/**
 * The certificate problem behind a connection error, or null when the error is something
 * else (refused, reset, timeout). Looks through `cause` chains: HTTP clients wrap the TLS
 * socket's error.
 */
export function certificateProblemOf(error: unknown): CertificateProblem | null {
  let e: unknown = error;
  for (let depth = 0; depth < 5 && typeof e === 'object' && e !== null; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && BY_ERROR_CODE[code]) return { ...BY_ERROR_CODE[code], errorCode: code };
    e = (e as { cause?: unknown }).cause;
  }
  return null;
}

/** `TLS-2: <reason> (CERT_HAS_EXPIRED, mqtts://host:8883)`: the form of logs and `lastError`. */
export function describeCertificateProblem(problem: CertificateProblem, endpoint: string): string {
  return `${problem.code}: ${problem.reason} (${problem.errorCode}, ${endpoint})`;
}
