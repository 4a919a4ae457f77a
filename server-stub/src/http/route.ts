import type { Readable } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Endpoint, EndpointAuth, EndpointBody, EndpointParams, EndpointQuery } from '@airpanel/contract/api';
import type { Principal } from '../auth.js';

/** What a handler answers; the router writes it. */
export interface RouteResult {
  status: number;
  body?: unknown;
  /** Already-serialized JSON (the display route's cached document). */
  rawJson?: string;
  /** A non-JSON body with its content type (text, a PNG, a bundle streamed from disk). */
  raw?: { contentType: string; payload: string | Buffer | Readable };
  headers?: Record<string, string>;
}

/** The body a handler gets: the parsed JSON, the bytes of a binary body, or nothing. */
type HandlerBody<E extends Endpoint> = E extends { body: object }
  ? EndpointBody<E>
  : E extends { binaryBody: { streamed: true } }
    ? undefined
    : E extends { binaryBody: object }
      ? Buffer
      : undefined;
type OrEmpty<T> = T extends undefined ? Record<string, never> : T;

export interface RouteInput<E extends Endpoint> {
  params: OrEmpty<EndpointParams<E>>;
  query: OrEmpty<EndpointQuery<E>>;
  body: HandlerBody<E>;
  principal: Principal | null;
  request: FastifyRequest;
  reply: FastifyReply;
}

/** An endpoint of the contract with the handler that answers it. */
export interface BoundRoute {
  endpoint: Endpoint;
  /** Who may call it: the endpoint's own, unless the binding loosens it (a standalone feed). */
  auth: EndpointAuth;
  /** Largest request body; a streamed binary body is counted by its handler. */
  bodyLimit?: number;
  handle(input: RouteInput<Endpoint>): RouteResult | Promise<RouteResult>;
}

export interface BindOptions {
  auth?: EndpointAuth;
  bodyLimit?: number;
}

/** Binds a handler to a declared endpoint; its inputs are typed from the endpoint's schemas. */
export function bindRoute<E extends Endpoint>(
  endpoint: E,
  handle: (input: RouteInput<E>) => RouteResult | Promise<RouteResult>,
  options: BindOptions = {},
): BoundRoute {
  const bodyLimit = options.bodyLimit ?? endpoint.binaryBody?.maxBytes;
  return {
    endpoint,
    auth: options.auth ?? endpoint.auth,
    ...(bodyLimit !== undefined ? { bodyLimit } : {}),
    handle: handle as unknown as BoundRoute['handle'],
  };
}

/** A JSON answer. A Promise here would be serialized as `{}`: the type makes a missing `await` a compile error. */
export const ok = <T>(body: T extends PromiseLike<unknown> ? never : T, status = 200): RouteResult => ({ status, body });

export const noContent = (): RouteResult => ({ status: 204 });
