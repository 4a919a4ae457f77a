import winston from 'winston';

// The one Logger interface of every Airpanel program, and its silent one for tests.
export type { Logger } from '@airpanel/node-support/logger';
export { silentLogger } from '@airpanel/node-support/logger';

/** JSON lines on stdout, one object per event: what a log shipper expects. */
export function createJsonLogger(level: string = process.env.AIRPANEL_LOG_LEVEL ?? 'info'): winston.Logger {
  return winston.createLogger({
    level,
    format: winston.format.combine(winston.format.timestamp(), winston.format.errors({ stack: true }), winston.format.json()),
    defaultMeta: { service: 'airpanel-backend' },
    transports: [new winston.transports.Console()],
  });
}
