import type { Endpoint } from '@airpanel/contract/api';
import { bindRoute, noContent, type BoundRoute, type RouteResult } from '../http/route.js';
import type { DefinitionService } from './service.js';

/** The five declared operations of one definition resource. */
export interface DefinitionEndpoints {
  list: Endpoint;
  create: Endpoint;
  get: Endpoint;
  replace: Endpoint;
  delete: Endpoint;
}

/**
 * The routes of a definition resource, bound to its service. `idParam` names the path
 * parameter that carries the id (`contentSetId`, …); the router has validated it already.
 */
export function definitionRoutes<T extends { id: string }, C extends { id?: string | undefined }, B>(
  endpoints: DefinitionEndpoints,
  service: DefinitionService<T, C, B>,
  idParam: string,
): BoundRoute[] {
  const idOf = (params: unknown) => (params as Record<string, string>)[idParam]!;
  const json = (body: T | T[], status = 200): RouteResult => ({ status, body });
  return [
    bindRoute(endpoints.list, () => json(service.list())),
    bindRoute(endpoints.create, ({ body }) => json(service.create(body as unknown as C), 201)),
    bindRoute(endpoints.get, ({ params }) => json(service.get(idOf(params)))),
    bindRoute(endpoints.replace, async ({ params, body }) => json(await service.replace(idOf(params), body as unknown as B))),
    bindRoute(endpoints.delete, ({ params }) => {
      service.delete(idOf(params));
      return noContent();
    }),
  ];
}
