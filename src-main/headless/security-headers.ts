/**
 * Response headers of everything the headless host serves. The panel page gets a strict
 * Content-Security-Policy: only its own scripts, styles, fonts and images, and a WebSocket
 * back to the host that served it ('self' covers ws: to the same host and port).
 */
export const PANEL_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "font-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "object-src 'none'",
  // The browser simulator shows the panel in an iframe of the same origin; nobody else may.
  "frame-ancestors 'self'",
].join('; ');

/** The simulator page: its own script, and the panel preview in a same-origin iframe. */
export const SIMULATOR_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "frame-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "object-src 'none'",
  "frame-ancestors 'none'",
].join('; ');

export function securityHeaders(csp: string): Record<string, string> {
  return {
    'content-security-policy': csp,
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'cross-origin-opener-policy': 'same-origin',
    'cross-origin-resource-policy': 'same-origin',
    'permissions-policy': 'camera=(), microphone=(), geolocation=(), usb=(), serial=(), bluetooth=()',
  };
}
