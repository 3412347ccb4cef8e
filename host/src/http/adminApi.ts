// The host's admin API (master key only): `GET /admin/host/status`, and `GET|POST /admin/host/clock`
// to read or fast-forward the host's clock (`{"advanceMs":N}` or `{"advanceDays":N}`).
// Pure request → result, so it is tested without a server.
import { z } from 'zod';
import type { Clock } from '../clock';
import { HttpError } from './httpErrors';

const DAY_MS = 86_400_000;

export interface AdminResult {
  readonly status: number;
  readonly body: unknown;
}

export interface AdminApiDeps {
  readonly clock: Clock;
  /** The body of GET /admin/host/status. */
  hostStatus(): Record<string, unknown>;
}

const advanceSchema = z
  .object({
    advanceMs: z.number().finite().nonnegative().optional(),
    advanceDays: z.number().finite().nonnegative().optional(),
  })
  .strict()
  .refine((b) => b.advanceMs !== undefined || b.advanceDays !== undefined, {
    message: 'give "advanceMs" or "advanceDays"',
  });

function clockState(clock: Clock): AdminResult {
  return { status: 200, body: { now: new Date(clock.now()).toISOString(), offsetMs: clock.offsetMs } };
}

function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    throw new HttpError('HTTP.BAD_REQUEST', 'The body is not JSON');
  }
}

/** Undefined when the path is not an admin path this host serves. Paths are case-insensitive. */
export function handleAdminRequest(
  method: string,
  pathname: string,
  body: Buffer,
  deps: AdminApiDeps,
): AdminResult | undefined {
  const path = pathname.toLowerCase().replace(/\/+$/, '');
  const m = method.toUpperCase();
  const allow = (methods: string[]): void => {
    if (!methods.includes(m)) {
      throw new HttpError(
        'HTTP.METHOD_NOT_ALLOWED',
        `${m} is not allowed on ${pathname}`,
        {},
        { allow: methods.join(', ') },
      );
    }
  };
  if (path === '/admin/host/status') {
    allow(['GET']);
    return { status: 200, body: deps.hostStatus() };
  }
  if (path === '/admin/host/clock') {
    allow(['GET', 'POST']);
    if (m === 'POST') {
      const parsed = advanceSchema.safeParse(parseJson(body));
      if (!parsed.success) {
        throw new HttpError(
          'HTTP.BAD_REQUEST',
          `Invalid clock request: ${parsed.error.issues[0]?.message ?? 'invalid'}`,
        );
      }
      deps.clock.advance((parsed.data.advanceMs ?? 0) + (parsed.data.advanceDays ?? 0) * DAY_MS);
    }
    return clockState(deps.clock);
  }
  return undefined;
}
