import { z } from 'zod';
import {
  ApiError,
  ApiKeyRotation,
  CommandBody,
  CommandRecord,
  ContentSet,
  ContentSetBody,
  ContentSetCreateBody,
  DisplayDocument,
  Identifier,
  LevelScheme,
  LevelSchemeBody,
  LevelSchemeCreateBody,
  PanelCreateBody,
  PanelRegistration,
  PanelSummary,
  PanelUpdateBody,
  Reading,
  ReadingBody,
  SensorSource,
  SensorSourceBody,
  SensorSourceCreateBody,
} from '@airpanel/contract';
import type { BackendMetrics } from '../metrics.js';
import type { AirpanelService } from '../service.js';
import { defineRoute, named, type ResponseSpec, type RouteSpec } from './route-spec.js';

const apiError = named('ApiError', ApiError);

const ERROR_DESCRIPTIONS: Record<number, string> = {
  400: 'Invalid request: malformed JSON, or a body, parameter or query that does not match the schema',
  401: 'Missing or unknown credentials',
  403: 'The credentials are valid but do not give access to this resource',
  404: 'No such resource',
  409: 'Conflict with the current state (id taken, resource in use, not a simulated source)',
  413: 'Body larger than the limit',
  503: 'A dependency (the MQTT broker) is unavailable',
};

function errors(...codes: number[]): Record<number, ResponseSpec> {
  return Object.fromEntries(codes.map((code) => [code, { description: ERROR_DESCRIPTIONS[code]!, schema: apiError }]));
}

export const HealthReport = z.object({
  status: z.literal('ok'),
  panels: z.number().int().min(0),
  mqttConnectedPanels: z.number().int().min(0),
  uptimeSeconds: z.number().min(0),
});

const PanelParams = z.object({ panelId: Identifier });
const CommandParams = z.object({ panelId: Identifier, commandId: z.uuid() });
const SensorParams = z.object({ sensorId: Identifier });
const ContentSetParams = z.object({ contentSetId: Identifier });
const SchemeParams = z.object({ levelSchemeId: Identifier });
const LimitQuery = z.object({ limit: z.coerce.number().int().min(1).max(500).default(50) });

// A Promise here would be serialized as `{}`: the type makes a missing `await` a compile error.
const ok = <T>(body: T extends PromiseLike<unknown> ? never : T, status = 200) => ({ status, body });

/** A full-HD panel screenshot as PNG is 0.1 to 3 MB; more is not a screenshot. */
export const SCREENSHOT_MAX_BYTES = 8 * 1024 * 1024;

export interface RouteContext {
  service: AirpanelService;
  metrics: BackendMetrics;
  startedAtMs: number;
  clock: { now(): number };
  connectedPanelCount: () => number;
  openApiDocument: () => unknown;
}

/** Every route of the backend, in the order the OpenAPI document lists them. */
export function buildRoutes(ctx: RouteContext): RouteSpec[] {
  const { service } = ctx;
  return [
    // ---- operations ----
    defineRoute({
      method: 'GET', path: '/healthz', operationId: 'getHealth', tag: 'operations', auth: 'none',
      summary: 'Liveness and a few counts',
      responses: { 200: { description: 'The backend is up', schema: named('HealthReport', HealthReport) } },
      handle: () => ok({
        status: 'ok',
        panels: service.panelCount(),
        mqttConnectedPanels: ctx.connectedPanelCount(),
        uptimeSeconds: Math.max(0, (ctx.clock.now() - ctx.startedAtMs) / 1000),
      }),
    }),
    defineRoute({
      method: 'GET', path: '/metrics', operationId: 'getMetrics', tag: 'operations', auth: 'none',
      summary: 'Prometheus metrics (text exposition format)',
      responses: { 200: { description: 'Metrics', mediaType: 'text/plain; version=0.0.4' } },
      handle: async () => ({ status: 200, raw: { contentType: ctx.metrics.registry.contentType, payload: await ctx.metrics.registry.metrics() } }),
    }),
    defineRoute({
      method: 'GET', path: '/api/v1/openapi.json', operationId: 'getOpenApi', tag: 'operations', auth: 'none',
      summary: 'This API, described as OpenAPI 3',
      responses: { 200: { description: 'The OpenAPI document' } },
      handle: () => ok(ctx.openApiDocument()),
    }),

    // ---- panels ----
    defineRoute({
      method: 'POST', path: '/api/v1/panels', operationId: 'createPanel', tag: 'panels', auth: 'admin',
      summary: 'Register a panel',
      description: 'Returns the panel, its API key (shown only this once; stored hashed) and the endpoints it must use. Unset references take the defaults.',
      body: named('PanelCreateBody', PanelCreateBody),
      responses: { 201: { description: 'Registered', schema: named('PanelRegistration', PanelRegistration) }, ...errors(400, 401, 403, 409) },
      handle: async ({ body }) => ok(await service.createPanel(body), 201),
    }),
    defineRoute({
      method: 'GET', path: '/api/v1/panels', operationId: 'listPanels', tag: 'panels', auth: 'admin',
      summary: 'The fleet: every panel with what the backend last heard from it',
      responses: { 200: { description: 'Panels', schema: named('PanelSummaryList', z.array(PanelSummary)) }, ...errors(401, 403) },
      handle: () => ok(service.listPanels()),
    }),
    defineRoute({
      method: 'GET', path: '/api/v1/panels/{panelId}', operationId: 'getPanel', tag: 'panels', auth: 'admin-or-own-panel',
      summary: 'One panel with its status',
      params: PanelParams,
      responses: { 200: { description: 'The panel', schema: named('PanelSummary', PanelSummary) }, ...errors(400, 401, 403, 404) },
      handle: ({ params }) => ok(service.getPanel(params.panelId)),
    }),
    defineRoute({
      method: 'PATCH', path: '/api/v1/panels/{panelId}', operationId: 'updatePanel', tag: 'panels', auth: 'admin',
      summary: 'Change a panel (name, location, sensor source, content set, level scheme)',
      description: 'Assignments take effect at once: the panel gets a new display document.',
      params: PanelParams,
      body: named('PanelUpdateBody', PanelUpdateBody),
      responses: { 200: { description: 'The updated panel', schema: named('PanelSummary', PanelSummary) }, ...errors(400, 401, 403, 404) },
      handle: ({ params, body }) => ok(service.updatePanel(params.panelId, body)),
    }),
    defineRoute({
      method: 'DELETE', path: '/api/v1/panels/{panelId}', operationId: 'deletePanel', tag: 'panels', auth: 'admin',
      summary: 'Remove a panel (its key stops working, its retained document is cleared)',
      params: PanelParams,
      responses: { 204: { description: 'Deleted' }, ...errors(400, 401, 403, 404) },
      handle: async ({ params }) => {
        await service.deletePanel(params.panelId);
        return { status: 204 };
      },
    }),
    defineRoute({
      method: 'POST', path: '/api/v1/panels/{panelId}/api-key', operationId: 'rotatePanelKey', tag: 'panels', auth: 'admin',
      summary: 'Issue a new API key for a panel; the old one stops working',
      params: PanelParams,
      responses: { 200: { description: 'The new key, shown only this once', schema: named('ApiKeyRotation', ApiKeyRotation) }, ...errors(400, 401, 403, 404) },
      handle: async ({ params }) => ok(await service.rotatePanelKey(params.panelId)),
    }),
    defineRoute({
      method: 'GET', path: '/api/v1/panels/{panelId}/display', operationId: 'getDisplay', tag: 'display', auth: 'admin-or-own-panel',
      summary: 'What the panel must show now',
      description: 'Answers with an ETag; send it back in If-None-Match to get 304 Not Modified while the revision is unchanged.',
      params: PanelParams,
      responses: {
        200: { description: 'The current display document', schema: named('DisplayDocument', DisplayDocument), headers: { ETag: 'Entity tag of this revision' } },
        304: { description: 'Not modified: the If-None-Match tag is the current revision', headers: { ETag: 'Entity tag of the current revision' } },
        ...errors(400, 401, 403, 404),
      },
      handle: ({ params, request, principal }) => {
        const cached = service.display(params.panelId);
        if (!cached) return { status: 404, body: { error: { code: 'not-found', message: `panel "${params.panelId}" does not exist` } } };
        if (principal?.kind === 'panel') service.noteHttpPoll(params.panelId);
        const headers = { etag: cached.etag, 'cache-control': 'no-cache' };
        if (ifNoneMatchIncludes(request.headers['if-none-match'], cached.etag)) return { status: 304, headers };
        return { status: 200, rawJson: cached.json, headers };
      },
    }),
    defineRoute({
      method: 'PUT', path: '/api/v1/panels/{panelId}/screenshot', operationId: 'uploadScreenshot', tag: 'commands', auth: 'admin-or-own-panel',
      summary: "A panel's answer to the screenshot command: what its screen shows (replaces the previous one)",
      params: PanelParams,
      binaryBody: { mediaType: 'image/png', maxBytes: SCREENSHOT_MAX_BYTES, description: 'The PNG image' },
      responses: { 204: { description: 'Stored' }, ...errors(400, 401, 403, 404, 413) },
      handle: ({ params, body }) => {
        service.saveScreenshot(params.panelId, body as Buffer);
        return { status: 204 };
      },
    }),
    defineRoute({
      method: 'GET', path: '/api/v1/panels/{panelId}/screenshot', operationId: 'getScreenshot', tag: 'commands', auth: 'admin',
      summary: "The latest screenshot a panel sent (Last-Modified: when it arrived)",
      params: PanelParams,
      responses: { 200: { description: 'The PNG image', mediaType: 'image/png' }, ...errors(400, 401, 403, 404) },
      handle: ({ params }) => {
        const { png, takenAt } = service.screenshot(params.panelId);
        return { status: 200, raw: { contentType: 'image/png', payload: png }, headers: { 'last-modified': new Date(takenAt).toUTCString(), 'cache-control': 'no-store' } };
      },
    }),
    defineRoute({
      method: 'POST', path: '/api/v1/panels/{panelId}/commands', operationId: 'sendCommand', tag: 'commands', auth: 'admin',
      summary: 'Send a command to a panel over MQTT (recorded; acks show up on the command)',
      params: PanelParams,
      body: named('CommandBody', CommandBody),
      responses: { 201: { description: 'Recorded and published', schema: named('CommandRecord', CommandRecord) }, ...errors(400, 401, 403, 404, 503) },
      handle: async ({ params, body }) => ok(await service.sendCommand(params.panelId, body), 201),
    }),
    defineRoute({
      method: 'GET', path: '/api/v1/panels/{panelId}/commands', operationId: 'listCommands', tag: 'commands', auth: 'admin-or-own-panel',
      summary: 'Recent commands of a panel with their acks, newest first',
      params: PanelParams,
      query: LimitQuery,
      responses: { 200: { description: 'Commands', schema: named('CommandRecordList', z.array(CommandRecord)) }, ...errors(400, 401, 403, 404) },
      handle: ({ params, query }) => ok(service.listCommands(params.panelId, query.limit)),
    }),
    defineRoute({
      method: 'GET', path: '/api/v1/panels/{panelId}/commands/{commandId}', operationId: 'getCommand', tag: 'commands', auth: 'admin-or-own-panel',
      summary: 'One command with its acks',
      params: CommandParams,
      responses: { 200: { description: 'The command', schema: named('CommandRecord', CommandRecord) }, ...errors(400, 401, 403, 404) },
      handle: ({ params }) => ok(service.getCommand(params.panelId, params.commandId)),
    }),

    // ---- sensor sources ----
    defineRoute({
      method: 'GET', path: '/api/v1/sensors', operationId: 'listSensorSources', tag: 'sensors', auth: 'admin',
      summary: 'Sensor sources',
      responses: { 200: { description: 'Sensor sources', schema: named('SensorSourceList', z.array(SensorSource)) }, ...errors(401, 403) },
      handle: () => ok(service.listSensorSources()),
    }),
    defineRoute({
      method: 'POST', path: '/api/v1/sensors', operationId: 'createSensorSource', tag: 'sensors', auth: 'admin',
      summary: 'Add a sensor source (simulated, or http-json polled from a vendor)',
      body: named('SensorSourceCreateBody', SensorSourceCreateBody),
      responses: { 201: { description: 'Created', schema: named('SensorSource', SensorSource) }, ...errors(400, 401, 403, 409) },
      handle: ({ body }) => ok(service.createSensorSource(body), 201),
    }),
    defineRoute({
      method: 'GET', path: '/api/v1/sensors/{sensorId}', operationId: 'getSensorSource', tag: 'sensors', auth: 'admin',
      summary: 'One sensor source',
      params: SensorParams,
      responses: { 200: { description: 'The sensor source', schema: named('SensorSource', SensorSource) }, ...errors(400, 401, 403, 404) },
      handle: ({ params }) => ok(service.getSensorSource(params.sensorId)),
    }),
    defineRoute({
      method: 'PUT', path: '/api/v1/sensors/{sensorId}', operationId: 'replaceSensorSource', tag: 'sensors', auth: 'admin',
      summary: 'Replace a sensor source (it is fetched again at once)',
      params: SensorParams,
      body: named('SensorSourceBody', SensorSourceBody),
      responses: { 200: { description: 'Replaced', schema: named('SensorSource', SensorSource) }, ...errors(400, 401, 403, 404) },
      handle: ({ params, body }) => ok(service.replaceSensorSource(params.sensorId, body)),
    }),
    defineRoute({
      method: 'DELETE', path: '/api/v1/sensors/{sensorId}', operationId: 'deleteSensorSource', tag: 'sensors', auth: 'admin',
      summary: 'Delete a sensor source no panel uses',
      params: SensorParams,
      responses: { 204: { description: 'Deleted' }, ...errors(400, 401, 403, 404, 409) },
      handle: ({ params }) => {
        service.deleteSensorSource(params.sensorId);
        return { status: 204 };
      },
    }),
    defineRoute({
      method: 'POST', path: '/api/v1/sensors/{sensorId}/readings', operationId: 'postReading', tag: 'sensors', auth: 'admin',
      summary: 'Record a reading of a simulated sensor source',
      description: 'Panels using the source are re-evaluated at once; a level change issues new documents.',
      params: SensorParams,
      body: named('ReadingBody', ReadingBody),
      responses: { 201: { description: 'Recorded', schema: named('Reading', Reading) }, ...errors(400, 401, 403, 404, 409) },
      handle: async ({ params, body }) => ok(await service.postReading(params.sensorId, body), 201),
    }),
    defineRoute({
      method: 'GET', path: '/api/v1/sensors/{sensorId}/readings', operationId: 'listReadings', tag: 'sensors', auth: 'admin',
      summary: 'Recent readings of a sensor source, newest first',
      params: SensorParams,
      query: LimitQuery,
      responses: { 200: { description: 'Readings', schema: named('ReadingList', z.array(Reading)) }, ...errors(400, 401, 403, 404) },
      handle: ({ params, query }) => ok(service.listReadings(params.sensorId, query.limit)),
    }),

    // ---- content sets ----
    defineRoute({
      method: 'GET', path: '/api/v1/content-sets', operationId: 'listContentSets', tag: 'content', auth: 'admin',
      summary: 'Content sets',
      responses: { 200: { description: 'Content sets', schema: named('ContentSetList', z.array(ContentSet)) }, ...errors(401, 403) },
      handle: () => ok(service.listContentSets()),
    }),
    defineRoute({
      method: 'POST', path: '/api/v1/content-sets', operationId: 'createContentSet', tag: 'content', auth: 'admin',
      summary: 'Add a content set (texts, colours and icons per level)',
      body: named('ContentSetCreateBody', ContentSetCreateBody),
      responses: { 201: { description: 'Created', schema: named('ContentSet', ContentSet) }, ...errors(400, 401, 403, 409) },
      handle: ({ body }) => ok(service.createContentSet(body), 201),
    }),
    defineRoute({
      method: 'GET', path: '/api/v1/content-sets/{contentSetId}', operationId: 'getContentSet', tag: 'content', auth: 'admin',
      summary: 'One content set',
      params: ContentSetParams,
      responses: { 200: { description: 'The content set', schema: named('ContentSet', ContentSet) }, ...errors(400, 401, 403, 404) },
      handle: ({ params }) => ok(service.getContentSet(params.contentSetId)),
    }),
    defineRoute({
      method: 'PUT', path: '/api/v1/content-sets/{contentSetId}', operationId: 'replaceContentSet', tag: 'content', auth: 'admin',
      summary: 'Replace a content set; panels using it get new documents at once',
      params: ContentSetParams,
      body: named('ContentSetBody', ContentSetBody),
      responses: { 200: { description: 'Replaced', schema: named('ContentSet', ContentSet) }, ...errors(400, 401, 403, 404) },
      handle: async ({ params, body }) => ok(await service.replaceContentSet(params.contentSetId, body)),
    }),
    defineRoute({
      method: 'DELETE', path: '/api/v1/content-sets/{contentSetId}', operationId: 'deleteContentSet', tag: 'content', auth: 'admin',
      summary: 'Delete a content set no panel uses (not the default)',
      params: ContentSetParams,
      responses: { 204: { description: 'Deleted' }, ...errors(400, 401, 403, 404, 409) },
      handle: ({ params }) => {
        service.deleteContentSet(params.contentSetId);
        return { status: 204 };
      },
    }),

    // ---- level schemes ----
    defineRoute({
      method: 'GET', path: '/api/v1/level-schemes', operationId: 'listLevelSchemes', tag: 'levels', auth: 'admin',
      summary: 'Level schemes',
      responses: { 200: { description: 'Level schemes', schema: named('LevelSchemeList', z.array(LevelScheme)) }, ...errors(401, 403) },
      handle: () => ok(service.listLevelSchemes()),
    }),
    defineRoute({
      method: 'POST', path: '/api/v1/level-schemes', operationId: 'createLevelScheme', tag: 'levels', auth: 'admin',
      summary: 'Add a level scheme (levels, breakpoints per pollutant, hysteresis)',
      body: named('LevelSchemeCreateBody', LevelSchemeCreateBody),
      responses: { 201: { description: 'Created', schema: named('LevelScheme', LevelScheme) }, ...errors(400, 401, 403, 409) },
      handle: ({ body }) => ok(service.createLevelScheme(body), 201),
    }),
    defineRoute({
      method: 'GET', path: '/api/v1/level-schemes/{levelSchemeId}', operationId: 'getLevelScheme', tag: 'levels', auth: 'admin',
      summary: 'One level scheme',
      params: SchemeParams,
      responses: { 200: { description: 'The level scheme', schema: named('LevelScheme', LevelScheme) }, ...errors(400, 401, 403, 404) },
      handle: ({ params }) => ok(service.getLevelScheme(params.levelSchemeId)),
    }),
    defineRoute({
      method: 'PUT', path: '/api/v1/level-schemes/{levelSchemeId}', operationId: 'replaceLevelScheme', tag: 'levels', auth: 'admin',
      summary: 'Replace a level scheme; panels using it are re-evaluated at once',
      params: SchemeParams,
      body: named('LevelSchemeBody', LevelSchemeBody),
      responses: { 200: { description: 'Replaced', schema: named('LevelScheme', LevelScheme) }, ...errors(400, 401, 403, 404) },
      handle: async ({ params, body }) => ok(await service.replaceLevelScheme(params.levelSchemeId, body)),
    }),
    defineRoute({
      method: 'DELETE', path: '/api/v1/level-schemes/{levelSchemeId}', operationId: 'deleteLevelScheme', tag: 'levels', auth: 'admin',
      summary: 'Delete a level scheme no panel uses (not the default)',
      params: SchemeParams,
      responses: { 204: { description: 'Deleted' }, ...errors(400, 401, 403, 404, 409) },
      handle: ({ params }) => {
        service.deleteLevelScheme(params.levelSchemeId);
        return { status: 204 };
      },
    }),
  ];
}

/** True when an If-None-Match header lists `etag` (or is `*`); weak tags compare by value. */
export function ifNoneMatchIncludes(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  if (header === etag) return true;
  return header.split(',').some((candidate) => {
    const tag = candidate.trim();
    return tag === '*' || tag === etag || tag === `W/${etag}`;
  });
}
