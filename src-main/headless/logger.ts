import type { Logger } from '@airpanel/node-support/logger';

/** One JSON line per entry on stderr (stdout stays free for the URL banner). */
export const consoleLogger: Logger = {
  error: (m, meta) => console.error(JSON.stringify({ level: 'error', message: m, ...meta })),
  warn: (m, meta) => console.error(JSON.stringify({ level: 'warn', message: m, ...meta })),
  info: (m, meta) => console.error(JSON.stringify({ level: 'info', message: m, ...meta })),
  debug: () => undefined,
};
