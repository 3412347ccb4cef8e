// Request validation: strict zod schemas (unknown fields are rejected, so a client cannot mass-assign
// server-owned fields such as provisioningState; reliability test 15), and one shape for every 400: the
// first problem in `message`/`target`, all of them in `details`, each naming the field and the rule.
import { z } from 'zod';
import { ApiError, type ApiErrorDetail } from './apiErrors';
import { NAME_RULES, type NameKind } from './names';

/** Strongbox's own limit on JSON bodies (reliability row 22: "JSON bodies <= 1 MB"). */
export const MAX_JSON_BODY_BYTES = 1_048_576;

export function pathOf(path: readonly PropertyKey[]): string {
  return path.map(String).join('.');
}

/** zod issues -> details naming each field and rule. Unknown keys get one detail per key. */
export function detailsOf(error: z.ZodError, prefix = ''): ApiErrorDetail[] {
  const join = (p: string) => (prefix && p ? `${prefix}.${p}` : prefix || p);
  return error.issues.flatMap((issue): ApiErrorDetail[] => {
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => {
        const target = join(pathOf([...issue.path, key]));
        return { code: 'InvalidRequestBody', target, message: `${target} is not a known field` };
      });
    }
    const target = join(pathOf(issue.path)) || 'body';
    return [{ code: 'InvalidRequestBody', target, message: `${target} ${issue.message}` }];
  });
}

export function invalidBody(details: readonly ApiErrorDetail[]): ApiError {
  const first = details[0];
  const more =
    details.length > 1
      ? ` (and ${details.length - 1} more problem${details.length > 2 ? 's' : ''}; see details)`
      : '';
  return new ApiError(
    'InvalidRequestBody',
    `${first?.message ?? 'The request body is invalid'}${more}`,
    first?.target ?? 'body',
    details,
  );
}

export function parseBody<S extends z.ZodType>(schema: S, body: unknown): z.output<S> {
  const parsed = schema.safeParse(body);
  if (parsed.success) return parsed.data;
  throw invalidBody(detailsOf(parsed.error));
}

/** Checks a path parameter against its name rule; 400 InvalidResourceName naming the parameter. */
export function checkName(kind: NameKind, value: string | undefined): string {
  const rule = NAME_RULES[kind];
  if (value === undefined || !rule.pattern.test(value)) {
    throw new ApiError('InvalidResourceName', `${kind} '${value ?? ''}' ${rule.rule}`, kind);
  }
  return value;
}

/** A message for a required string field: zod says "expected string" for undefined. */
export const requiredString = (rule: string) =>
  z.string({ error: (i) => (i.input === undefined ? 'is required' : `must be a string (${rule})`) });
