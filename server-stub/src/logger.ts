import winston from 'winston';

/**
 * What the backend logs through. A winston Logger fits, and so does a plain object in a
 * test. Structured fields go in `meta`; never secrets (keys, tokens).
 */
export interface Logger {
  debug(message: string, meta?: Record<string, unknown>): unknown;
  info(message: string, meta?: Record<string, unknown>): unknown;
  warn(message: string, meta?: Record<string, unknown>): unknown;
  error(message: string, meta?: Record<string, unknown>): unknown;
}

/** JSON lines on stdout, one object per event: what a log shipper expects. */
export function createJsonLogger(level: string = process.env.AIRPANEL_LOG_LEVEL ?? 'info'): winston.Logger {
  return winston.createLogger({
    level,
    format: winston.format.combine(winston.format.timestamp(), winston.format.errors({ stack: true }), winston.format.json()),
    defaultMeta: { service: 'airpanel-backend' },
    transports: [new winston.transports.Console()],
  });
}

/** Discards everything; for tests that do not look at logs. */
export const silentLogger: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};
