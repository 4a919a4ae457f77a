import { DEFAULT_LEVEL_SCHEME, LevelScheme, type LevelSchemeBody, type LevelSchemeCreateBody } from '@airpanel/contract';
import { levelSchemeEndpoints as endpoints } from '@airpanel/contract/api';
import { definitionRoutes } from '../definitions/routes.js';
import type { DefinitionKind, DefinitionService } from '../definitions/service.js';
import type { BoundRoute } from '../http/route.js';

/** Level schemes: levels, breakpoints per pollutant, hysteresis. Replacing one re-evaluates its panels. */
export const LEVEL_SCHEMES: DefinitionKind<LevelScheme> = {
  what: 'level scheme',
  table: 'level_schemes',
  idPrefix: 'scheme',
  reference: 'level_scheme_id',
  parse: (json) => LevelScheme.parse(json),
  defaultId: DEFAULT_LEVEL_SCHEME.id,
};

export type LevelSchemeService = DefinitionService<LevelScheme, LevelSchemeCreateBody, LevelSchemeBody>;

export function levelSchemeRoutes(service: LevelSchemeService): BoundRoute[] {
  return definitionRoutes(
    {
      list: endpoints.listLevelSchemes,
      create: endpoints.createLevelScheme,
      get: endpoints.getLevelScheme,
      replace: endpoints.replaceLevelScheme,
      delete: endpoints.deleteLevelScheme,
    },
    service,
    'levelSchemeId',
  );
}
