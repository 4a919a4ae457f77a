/**
 * What every Airpanel program logs through: the panel core and its hosts, the loader, the
 * backend, the tools. A winston `Logger` fits, and so does a child logger
 * (`logger.child({ panelId })`, how a simulated fleet shares one logger) or a plain object in
 * a test. Structured fields go in `meta`; never secrets (keys, tokens).
 */
export interface Logger {
  error(message: string, meta?: Record<string, unknown>): unknown;
  warn(message: string, meta?: Record<string, unknown>): unknown;
  info(message: string, meta?: Record<string, unknown>): unknown;
  debug(message: string, meta?: Record<string, unknown>): unknown;
}

/** Drops everything: for code and tests that do not look at logs. */
export const silentLogger: Logger = {
  error: () => undefined,
  warn: () => undefined,
  info: () => undefined,
  debug: () => undefined,
};
