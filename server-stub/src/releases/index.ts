// The release feed (OTA): its routes, bound to the contract's release endpoints, and its own storage.
import type { FastifyInstance } from 'fastify';
import { API_PREFIX } from '@airpanel/contract/api';
import { installErrorWriter } from '../http/error-writer.js';
import { registerRoutes } from '../http/router.js';
import { addBinaryBodyParsers } from '../http/server.js';
import { silentLogger, type Logger } from '../logger.js';
import { releaseRoutes, type ReleaseRoutesOptions } from './routes.js';

export * from './store.js';
export * from './routes.js';

export interface ReleasesPluginOptions extends Omit<ReleaseRoutesOptions, 'reportAuth'> {
  /** Is this Authorization header the admin's? */
  isAdmin: (authorization: string | undefined) => boolean;
  logger?: Logger;
}

/**
 * The release feed alone, as a fastify plugin registered under `/api/v1` (a feed without the
 * rest of the backend, as the OTA tests run it): the same routes and error answers as in
 * `createBackend`, with the admin token checked by `isAdmin`. It knows no panel keys, so any
 * caller may report for a panel.
 */
export async function releasesPlugin(app: FastifyInstance, options: ReleasesPluginOptions): Promise<void> {
  const routes = releaseRoutes({ ...options, reportAuth: 'none' });
  installErrorWriter(app, options.logger ?? silentLogger);
  addBinaryBodyParsers(app, routes);
  registerRoutes(app, routes, {
    authenticate: (token) => (options.isAdmin(`Bearer ${token}`) ? { kind: 'admin' } : null),
    underPrefix: API_PREFIX,
  });
}
