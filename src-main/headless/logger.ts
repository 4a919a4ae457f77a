/** What the headless host logs through; a winston logger (and the core's logger) fits. */
export interface HostLogger {
  error(message: string, meta?: Record<string, unknown>): unknown;
  warn(message: string, meta?: Record<string, unknown>): unknown;
  info(message: string, meta?: Record<string, unknown>): unknown;
  debug(message: string, meta?: Record<string, unknown>): unknown;
}

/** Drops everything (tests that do not look at logs). */
export const silentLogger: HostLogger = {
  error: () => undefined,
  warn: () => undefined,
  info: () => undefined,
  debug: () => undefined,
};

/** One JSON line per entry on stderr (stdout stays free for the URL banner). */
export const consoleLogger: HostLogger = {
  error: (m, meta) => console.error(JSON.stringify({ level: 'error', message: m, ...meta })),
  warn: (m, meta) => console.error(JSON.stringify({ level: 'warn', message: m, ...meta })),
  info: (m, meta) => console.error(JSON.stringify({ level: 'info', message: m, ...meta })),
  debug: () => undefined,
};
