// Inline route constraints, as ASP.NET Core routing defines them (`{id:int}`, `{name:minlength(3)}`).
// The Functions host uses ASP.NET's constraint set, so a route that works in Azure works here.
import { RouteTemplateError } from './routeErrors';

export interface RouteConstraint {
  /** The constraint as written, e.g. `int` or `minlength(3)`. */
  readonly text: string;
  test(value: string): boolean;
}

// ASP.NET parses these with the invariant culture: optional sign, digits, no thousands separators.
const INT_RE = /^[+-]?\d+$/;
const DOUBLE_RE = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

function isGuid(value: string): boolean {
  // JS regexes have no conditional groups, so check the three accepted shapes directly.
  const bare = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;
  if (bare.test(value)) {
    // Either all four dashes or none (Guid.TryParse formats "D" and "N").
    const dashes = (value.match(/-/g) ?? []).length;
    return dashes === 0 || dashes === 4;
  }
  const inner = /^[{(](.*)[})]$/.exec(value);
  if (!inner?.[1]) return false;
  const open = value[0];
  const close = value[value.length - 1];
  if ((open === '{' && close !== '}') || (open === '(' && close !== ')')) return false;
  return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(inner[1]);
}

function isLong(value: string): boolean {
  if (!INT_RE.test(value)) return false;
  const n = BigInt(value);
  return n >= INT64_MIN && n <= INT64_MAX;
}

function intArg(args: string[], index: number, text: string): number {
  const raw = args[index];
  if (raw === undefined || !/^\d+$/.test(raw.trim())) {
    throw new RouteTemplateError(`Constraint "${text}" needs an integer argument ${index + 1}`, text);
  }
  return Number(raw.trim());
}

/** Parses one inline constraint. Unknown constraints fail, as they do at host startup in Azure. */
export function parseRouteConstraint(text: string): RouteConstraint {
  const m = /^([A-Za-z]+)(?:\((.*)\))?$/s.exec(text);
  if (!m) throw new RouteTemplateError(`Invalid route constraint "${text}"`, text);
  const name = (m[1] ?? '').toLowerCase();
  const rawArgs = m[2];
  const args = rawArgs === undefined ? [] : name === 'regex' ? [rawArgs] : rawArgs.split(',');
  const make = (test: (v: string) => boolean): RouteConstraint => ({ text, test });
  switch (name) {
    case 'int':
      return make((v) => INT_RE.test(v) && Number(v) >= INT32_MIN && Number(v) <= INT32_MAX);
    case 'long':
      return make(isLong);
    case 'bool':
      return make((v) => /^(true|false)$/i.test(v));
    case 'double':
    case 'float':
    case 'decimal':
      return make((v) => DOUBLE_RE.test(v));
    case 'guid':
      return make(isGuid);
    case 'datetime':
      return make((v) => !Number.isNaN(Date.parse(v)));
    case 'alpha':
      return make((v) => /^[a-z]+$/i.test(v));
    case 'minlength': {
      const n = intArg(args, 0, text);
      return make((v) => v.length >= n);
    }
    case 'maxlength': {
      const n = intArg(args, 0, text);
      return make((v) => v.length <= n);
    }
    case 'length': {
      const a = intArg(args, 0, text);
      const b = args.length > 1 ? intArg(args, 1, text) : a;
      return make((v) => v.length >= a && v.length <= b);
    }
    case 'min': {
      const n = intArg(args, 0, text);
      return make((v) => isLong(v) && BigInt(v) >= BigInt(n));
    }
    case 'max': {
      const n = intArg(args, 0, text);
      return make((v) => isLong(v) && BigInt(v) <= BigInt(n));
    }
    case 'range': {
      const a = intArg(args, 0, text);
      const b = intArg(args, 1, text);
      return make((v) => isLong(v) && BigInt(v) >= BigInt(a) && BigInt(v) <= BigInt(b));
    }
    case 'regex': {
      let re: RegExp;
      try {
        // ASP.NET matches regex constraints case-insensitively against the whole value.
        re = new RegExp(`^(?:${args[0] ?? ''})$`, 'i');
      } catch {
        throw new RouteTemplateError(`Constraint "${text}" has an invalid regular expression`, text);
      }
      return make((v) => re.test(v));
    }
    default:
      throw new RouteTemplateError(`Unknown route constraint "${name}"`, text);
  }
}
