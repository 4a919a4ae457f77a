import { ApiCallError } from '@airpanel/contract/api';

/**
 * Validation errors by the field they concern, so an editor shows each one next to its field.
 * A field is named by its dotted path in the request body (`levels.1.id`,
 * `breakpoints.pm25.0`, `byLevel.bad.headline`), the path zod gives an issue. The same keys
 * come from the client's own check (the contract's schemas) and from the API's 400 answer,
 * whose issues name the part of the request first (`body.levels.1.id`).
 */
export type FieldErrors = Record<string, string>;

export interface IssueLike {
  path: readonly PropertyKey[];
  message: string;
}

export const pathKey = (path: readonly PropertyKey[]): string => path.map(String).join('.');

/** The first message per path (zod lists the most basic problem of a field first). */
export function fromIssues(issues: readonly IssueLike[]): FieldErrors {
  const errors: FieldErrors = {};
  for (const issue of issues) {
    const key = pathKey(issue.path);
    errors[key] ??= issue.message;
  }
  return errors;
}

/** Validates `value` with a contract schema; the errors by field (empty when valid). */
export function validate(
  schema: { safeParse(value: unknown): { success: boolean; error?: { issues: readonly IssueLike[] } } },
  value: unknown,
): FieldErrors {
  const result = schema.safeParse(value);
  return result.success || !result.error ? {} : fromIssues(result.error.issues);
}

const ServerIssue = (value: unknown): value is { path: string; message: string } =>
  typeof value === 'object' &&
  value !== null &&
  typeof (value as { path?: unknown }).path === 'string' &&
  typeof (value as { message?: unknown }).message === 'string';

export interface ErrorsOfCall {
  /** By field (body paths, `body.` taken off). */
  fields: FieldErrors;
  /** What concerns no field of the body (or the whole request), for the top of the form. */
  general: string | null;
}

/**
 * What a failed save tells the form: the issues of an API 400 (or of the client's own check of
 * the body) by field; a 409 on `conflictField` (an id already taken) next to that field;
 * anything else as one general message.
 */
export function errorsOfCall(error: unknown, options: { conflictField?: string; describe: (error: unknown) => string }): ErrorsOfCall {
  if (error instanceof ApiCallError) {
    if (error.kind === 'invalid-request' && error.details.issues) {
      return { fields: fromIssues(error.details.issues), general: null };
    }
    const details = error.serverError?.details as { issues?: unknown } | undefined;
    if (error.status === 400 && details && Array.isArray(details.issues)) {
      const fields: FieldErrors = {};
      const other: string[] = [];
      for (const issue of details.issues.filter(ServerIssue)) {
        if (issue.path === 'body' || issue.path.startsWith('body.')) {
          const key = issue.path.slice('body.'.length);
          fields[key] ??= issue.message;
        } else {
          other.push(`${issue.path}: ${issue.message}`);
        }
      }
      return { fields, general: other.length > 0 ? other.join('; ') : null };
    }
    if (error.status === 409 && options.conflictField) {
      return { fields: { [options.conflictField]: options.describe(error) }, general: null };
    }
  }
  return { fields: {}, general: options.describe(error) };
}

/** The errors at `prefix` or below it, for a group of fields (a fieldset) that shows them together. */
export function errorsUnder(errors: FieldErrors, prefix: string): string[] {
  return Object.entries(errors)
    .filter(([key]) => key === prefix || key.startsWith(`${prefix}.`))
    .map(([, message]) => message);
}
