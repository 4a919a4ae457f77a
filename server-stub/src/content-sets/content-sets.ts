import { ContentSet, DEFAULT_CONTENT_SET, type ContentSetBody, type ContentSetCreateBody } from '@airpanel/contract';
import { contentSetEndpoints as endpoints } from '@airpanel/contract/api';
import { definitionRoutes } from '../definitions/routes.js';
import type { DefinitionKind, DefinitionService } from '../definitions/service.js';
import type { BoundRoute } from '../http/route.js';

/** Content sets: texts, colours and icons per level. Replacing one reissues its panels' documents. */
export const CONTENT_SETS: DefinitionKind<ContentSet> = {
  what: 'content set',
  table: 'content_sets',
  idPrefix: 'content',
  reference: 'content_set_id',
  parse: (json) => ContentSet.parse(json),
  defaultId: DEFAULT_CONTENT_SET.id,
};

export type ContentSetService = DefinitionService<ContentSet, ContentSetCreateBody, ContentSetBody>;

export function contentSetRoutes(service: ContentSetService): BoundRoute[] {
  return definitionRoutes(
    {
      list: endpoints.listContentSets,
      create: endpoints.createContentSet,
      get: endpoints.getContentSet,
      replace: endpoints.replaceContentSet,
      delete: endpoints.deleteContentSet,
    },
    service,
    'contentSetId',
  );
}
