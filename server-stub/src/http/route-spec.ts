import type { FastifyReply, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import type { Principal } from '../service.js';

/**
 * Who may call a route: nobody needs credentials, the admin token only, or the admin token
 * or the API key of the panel named by the `panelId` path parameter.
 */
export type RouteAuth = 'none' | 'admin' | 'admin-or-own-panel';

/** A schema with the name it has under `components.schemas` in the OpenAPI document. */
export interface NamedSchema<S extends z.ZodType = z.ZodType> {
  name: string;
  schema: S;
}

export function named<S extends z.ZodType>(name: string, schema: S): NamedSchema<S> {
  return { name, schema };
}

export interface ResponseSpec {
  description: string;
  schema?: NamedSchema;
  /** Non-JSON answer (e.g. Prometheus text), described by its media type. */
  mediaType?: string;
  headers?: Record<string, string>;
}

export interface RouteResult {
  status: number;
  body?: unknown;
  /** Already-serialized JSON (the display route's cached document). */
  rawJson?: string;
  /** A non-JSON body with its content type. */
  raw?: { contentType: string; payload: string | Buffer };
  headers?: Record<string, string>;
}

export interface RouteInput<P, Q, B> {
  params: P;
  query: Q;
  body: B;
  principal: Principal | null;
  request: FastifyRequest;
  reply: FastifyReply;
}

type AnyObject = z.ZodType<Record<string, unknown>>;

/**
 * One API operation: the single description both the router and the OpenAPI document are
 * built from, so the document cannot drift from what the server does.
 */
export interface RouteSpec<P extends AnyObject = AnyObject, Q extends AnyObject = AnyObject, B extends z.ZodType = z.ZodType> {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** OpenAPI-style path, e.g. /api/v1/panels/{panelId}. */
  path: string;
  operationId: string;
  summary: string;
  description?: string;
  tag: string;
  auth: RouteAuth;
  params?: P;
  query?: Q;
  body?: NamedSchema<B>;
  /** A binary body instead of JSON (the handler gets a Buffer as `body`), capped at `maxBytes`. */
  binaryBody?: { mediaType: 'image/png'; maxBytes: number; description: string };
  responses: Record<number, ResponseSpec>;
  handle(input: RouteInput<z.infer<P>, z.infer<Q>, z.infer<B>>): RouteResult | Promise<RouteResult>;
}

/** Keeps the handler's argument types inferred from the schemas. */
export function defineRoute<P extends AnyObject, Q extends AnyObject, B extends z.ZodType>(spec: RouteSpec<P, Q, B>): RouteSpec {
  return spec as unknown as RouteSpec;
}
