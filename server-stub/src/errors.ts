/**
 * A failure the API reports to its caller (as an ApiError body), as opposed to a bug. The
 * domain throws these; the HTTP layer maps `kind` to a status code.
 */
export type ServiceErrorKind =
  'bad-request' | 'unauthorized' | 'forbidden' | 'not-found' | 'conflict' | 'payload-too-large' | 'unavailable';

export class ServiceError extends Error {
  constructor(
    readonly kind: ServiceErrorKind,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'ServiceError';
  }
}

export const STATUS_OF_KIND: Record<ServiceErrorKind, number> = {
  'bad-request': 400,
  unauthorized: 401,
  forbidden: 403,
  'not-found': 404,
  conflict: 409,
  'payload-too-large': 413,
  unavailable: 503,
};

export function notFound(what: string, id: string): ServiceError {
  return new ServiceError('not-found', 'not-found', `${what} "${id}" does not exist`);
}
