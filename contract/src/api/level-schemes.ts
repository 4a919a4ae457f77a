import { z } from 'zod';
import { LevelSchemeCreateBody } from '../product/backend-api.js';
import { LevelScheme, LevelSchemeBody } from '../product/levels.js';
import { Identifier } from '../product/primitives.js';
import { apiPath, endpoint, errors, named } from './endpoint.js';

const SchemeParams = z.object({ levelSchemeId: Identifier });
const levelScheme = named('LevelScheme', LevelScheme);

export const levelSchemeEndpoints = {
  listLevelSchemes: endpoint({
    method: 'GET',
    path: apiPath('/level-schemes'),
    operationId: 'listLevelSchemes',
    tag: 'levels',
    auth: 'viewer',
    summary: 'Level schemes',
    responses: { 200: { description: 'Level schemes', schema: named('LevelSchemeList', z.array(LevelScheme)) }, ...errors(401, 403) },
  }),
  createLevelScheme: endpoint({
    method: 'POST',
    path: apiPath('/level-schemes'),
    operationId: 'createLevelScheme',
    tag: 'levels',
    auth: 'operator',
    summary: 'Add a level scheme (levels, breakpoints per pollutant, hysteresis)',
    body: named('LevelSchemeCreateBody', LevelSchemeCreateBody),
    responses: { 201: { description: 'Created', schema: levelScheme }, ...errors(400, 401, 403, 409) },
  }),
  getLevelScheme: endpoint({
    method: 'GET',
    path: apiPath('/level-schemes/{levelSchemeId}'),
    operationId: 'getLevelScheme',
    tag: 'levels',
    auth: 'viewer',
    summary: 'One level scheme',
    params: SchemeParams,
    responses: { 200: { description: 'The level scheme', schema: levelScheme }, ...errors(400, 401, 403, 404) },
  }),
  replaceLevelScheme: endpoint({
    method: 'PUT',
    path: apiPath('/level-schemes/{levelSchemeId}'),
    operationId: 'replaceLevelScheme',
    tag: 'levels',
    auth: 'operator',
    summary: 'Replace a level scheme; panels using it are re-evaluated at once',
    params: SchemeParams,
    body: named('LevelSchemeBody', LevelSchemeBody),
    responses: { 200: { description: 'Replaced', schema: levelScheme }, ...errors(400, 401, 403, 404) },
  }),
  deleteLevelScheme: endpoint({
    method: 'DELETE',
    path: apiPath('/level-schemes/{levelSchemeId}'),
    operationId: 'deleteLevelScheme',
    tag: 'levels',
    auth: 'operator',
    summary: 'Delete a level scheme no panel uses (not the default)',
    params: SchemeParams,
    responses: { 204: { description: 'Deleted' }, ...errors(400, 401, 403, 404, 409) },
  }),
};
