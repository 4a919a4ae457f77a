import { z } from 'zod';
import { CSRF_HEADER, SESSION_COOKIE, type Role } from '@airpanel/contract';
import { allowsOwnPanel, API_TAGS, requiredRole, type Endpoint, type EndpointAuth, type NamedSchema } from '@airpanel/contract/api';

const SECURITY_SCHEMES = {
  adminToken: {
    type: 'http',
    scheme: 'bearer',
    description: 'The admin token: AIRPANEL_ADMIN_TOKEN, or the one generated at first start in <data dir>/admin-token.',
  },
  panelKey: {
    type: 'http',
    scheme: 'bearer',
    description:
      "A panel's API key, returned once by POST /api/v1/panels (and by key rotation). Gives access to that panel's own resources only.",
  },
  sessionCookie: {
    type: 'apiKey',
    in: 'cookie',
    name: SESSION_COOKIE,
    description: `A user's session, opened by POST /api/v1/session. Requests other than GET must also carry the ${CSRF_HEADER} header with the session's csrfToken. The user's role decides what it may call (x-required-role).`,
  },
} as const;

const ROLE_SENTENCES: Record<Role, string> = {
  viewer: 'Any signed-in role may call it (viewer, operator, release-manager, admin); the admin token too.',
  operator: 'Needs the operator or admin role, or the admin token.',
  'release-manager': 'Needs the release-manager or admin role, or the admin token.',
  admin: 'Needs the admin role or the admin token.',
};

/** Who may call an operation, as OpenAPI security requirements plus the `x-required-role` extension and a sentence. */
function accessOf(auth: EndpointAuth): { security: JsonObject[]; role: Role | null; sentence: string | null } {
  const role = requiredRole(auth);
  if (role === null) return { security: [], role: null, sentence: null };
  const ownPanel = allowsOwnPanel(auth);
  return {
    security: [{ adminToken: [] }, { sessionCookie: [] }, ...(ownPanel ? [{ panelKey: [] }] : [])],
    role,
    sentence: `${ROLE_SENTENCES[role]}${ownPanel ? ' The API key of the panel named by panelId may call it for that panel.' : ''}`,
  };
}

type JsonObject = Record<string, unknown>;

/**
 * A route an extension (`extendHttp`) registered outside the contract's endpoints. It describes
 * itself by giving the route `config: { openapi: { summary, description, security, requestBody,
 * responses, ... } }` (OpenAPI operation fields, merged over the generic entry); otherwise it is
 * only listed.
 */
export interface ModuleRoute {
  method: string;
  path: string;
  openapi?: JsonObject;
}

/**
 * JSON Schemas of the named schemas, one component each, referencing each other by
 * `#/components/schemas/<name>`. Request bodies are described as input (defaults make
 * fields optional), answers as output.
 */
function components(schemas: Map<string, NamedSchema>, io: 'input' | 'output'): Record<string, JsonObject> {
  const registry = z.registry<{ id: string }>();
  for (const { name, schema } of schemas.values()) if (!registry.has(schema)) registry.add(schema, { id: name });
  const result = z.toJSONSchema(registry, {
    target: 'openapi-3.0',
    io,
    unrepresentable: 'any',
    uri: (id) => `#/components/schemas/${id}`,
  }) as { schemas: Record<string, JsonObject> };
  for (const schema of Object.values(result.schemas)) {
    delete schema.$id;
    delete schema.$schema;
  }
  return result.schemas;
}

function parameterList(schema: z.ZodType | undefined, location: 'path' | 'query'): JsonObject[] {
  if (!schema) return [];
  const json = z.toJSONSchema(schema, { target: 'openapi-3.0', io: 'input', unrepresentable: 'any' }) as {
    properties?: Record<string, JsonObject>;
    required?: string[];
  };
  return Object.entries(json.properties ?? {}).map(([name, property]) => ({
    name,
    in: location,
    required: location === 'path' || (json.required ?? []).includes(name),
    schema: property,
  }));
}

/** The OpenAPI 3 document of `routes`: every path, body, answer and security requirement. */
export function buildOpenApiDocument(
  routes: readonly Endpoint[],
  info: { version: string; serverUrl?: string; moduleRoutes?: ModuleRoute[] },
): JsonObject {
  const requestSchemas = new Map<string, NamedSchema>();
  const responseSchemas = new Map<string, NamedSchema>();
  const remember = (into: Map<string, NamedSchema>, named: NamedSchema) => {
    const existing = into.get(named.name);
    if (existing && existing.schema !== named.schema) throw new Error(`two different schemas are named ${named.name}`);
    into.set(named.name, named);
  };
  for (const route of routes) {
    if (route.body) remember(requestSchemas, route.body);
    for (const response of Object.values(route.responses)) if (response.schema) remember(responseSchemas, response.schema);
  }
  for (const name of requestSchemas.keys()) {
    if (responseSchemas.has(name)) throw new Error(`${name} is used both as a request body and an answer; give them distinct names`);
  }

  const paths: Record<string, Record<string, JsonObject>> = {};
  for (const route of routes) {
    const responses: Record<string, JsonObject> = {};
    for (const [status, response] of Object.entries(route.responses)) {
      const entry: JsonObject = { description: response.description };
      if (response.schema) entry.content = { 'application/json': { schema: { $ref: `#/components/schemas/${response.schema.name}` } } };
      else if (response.mediaType)
        entry.content = {
          [response.mediaType]: { schema: { type: 'string', ...(response.mediaType.startsWith('image/') ? { format: 'binary' } : {}) } },
        };
      else if (status === '200') entry.content = { 'application/json': { schema: { type: 'object' } } };
      if (response.headers) {
        entry.headers = Object.fromEntries(
          Object.entries(response.headers).map(([name, description]) => [name, { description, schema: { type: 'string' } }]),
        );
      }
      responses[status] = entry;
    }
    const access = accessOf(route.auth);
    const operation: JsonObject = {
      operationId: route.operationId,
      summary: route.summary,
      tags: [route.tag],
      parameters: [...parameterList(route.params, 'path'), ...parameterList(route.query, 'query')],
      responses,
      security: access.security,
    };
    if (access.role !== null) operation['x-required-role'] = access.role;
    const description = [route.description, access.sentence].filter(Boolean).join(' ');
    if (description) operation.description = description;
    for (const header of route.requestHeaders ?? []) {
      (operation.parameters as JsonObject[]).push({
        name: header.name,
        in: 'header',
        required: header.required,
        schema: { type: 'string' },
        description: header.description,
      });
    }
    if (route.binaryBody) {
      operation.requestBody = {
        required: true,
        description: `${route.binaryBody.description} (at most ${route.binaryBody.maxBytes} bytes)`,
        content: { [route.binaryBody.mediaType]: { schema: { type: 'string', format: 'binary' } } },
      };
    }
    if (route.body) {
      operation.requestBody = {
        required: true,
        content: { 'application/json': { schema: { $ref: `#/components/schemas/${route.body.name}` } } },
      };
    }
    (paths[route.path] ??= {})[route.method.toLowerCase()] = operation;
  }

  for (const { method, path, openapi } of info.moduleRoutes ?? []) {
    const operation: JsonObject = {
      operationId: `${method.toLowerCase()}${path.replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string | undefined) => (c ? c.toUpperCase() : ''))}`,
      summary: 'Added by a backend extension',
      tags: ['modules'],
      parameters: [...path.matchAll(/\{(\w+)\}/g)].map((m) => ({ name: m[1], in: 'path', required: true, schema: { type: 'string' } })),
      security: [],
      responses: {
        200: { description: 'Success; the answer is defined by the extension' },
        default: {
          description: 'Errors are ApiError bodies',
          content: { 'application/json': { schema: { $ref: '#/components/schemas/ApiError' } } },
        },
      },
    };
    (paths[path] ??= {})[method.toLowerCase()] = { ...operation, ...openapi };
  }

  return {
    openapi: '3.0.3',
    info: {
      title: 'Airpanel companion backend',
      version: info.version,
      description:
        'Panels, sensor sources, content sets, level schemes, display documents and commands of an Airpanel fleet. Errors are ApiError bodies. ' +
        'Each operation names the role it needs in x-required-role: admin may do everything; operator panels, content, level schemes, sensors, commands and readings; release-manager the release channels; viewer only reads (every role reads).',
    },
    servers: [{ url: info.serverUrl ?? '/' }],
    tags: API_TAGS.map((name) => ({ name })),
    paths,
    components: {
      securitySchemes: SECURITY_SCHEMES,
      schemas: { ...components(requestSchemas, 'input'), ...components(responseSchemas, 'output') },
    },
  };
}
