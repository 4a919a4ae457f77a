import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import winston from 'winston';

export interface PanelLoggerOptions {
  /** Logs go to `<dataDir>/logs/panel.log` (rotated by size). */
  dataDir: string;
  level?: 'error' | 'warn' | 'info' | 'debug';
  /** Also write to stdout, which journald collects on a panel. */
  stdout?: boolean;
  /** Rotation: bytes per file and how many files to keep. A panel's /data is small. */
  maxFileBytes?: number;
  maxFiles?: number;
}

export const LOG_FILE_NAME = 'panel.log';

/** JSON lines to a size-capped rotated file in the data dir, and optionally to stdout. */
export function createPanelLogger(options: PanelLoggerOptions): winston.Logger {
  const logDir = join(options.dataDir, 'logs');
  mkdirSync(logDir, { recursive: true });
  const format = winston.format.combine(winston.format.timestamp(), winston.format.errors({ stack: true }), winston.format.json());
  const transports: winston.transport[] = [
    new winston.transports.File({
      filename: join(logDir, LOG_FILE_NAME),
      maxsize: options.maxFileBytes ?? 2 * 1024 * 1024,
      maxFiles: options.maxFiles ?? 5,
      tailable: true,
    }),
  ];
  if (options.stdout) transports.push(new winston.transports.Console());
  return winston.createLogger({ level: options.level ?? 'info', format, transports });
}
