// Route templates with ASP.NET Core semantics, because the Functions host routes HTTP triggers with
// ASP.NET routing: `{name}`, optional `{name?}`, defaults `{name=x}`, catch-all `{*rest}`, inline
// constraints `{id:int}`, complex segments `{file}.{ext}`, case-insensitive literals.
import { parseRouteConstraint, type RouteConstraint } from './routeConstraints';
import { RouteTemplateError } from './routeErrors';

export interface RouteLiteral {
  readonly kind: 'literal';
  readonly text: string;
}

export interface RouteParameter {
  readonly kind: 'parameter';
  readonly name: string;
  readonly optional: boolean;
  readonly catchAll: boolean;
  readonly defaultValue: string | undefined;
  readonly constraints: readonly RouteConstraint[];
}

export type RoutePart = RouteLiteral | RouteParameter;

export interface RouteSegment {
  readonly parts: readonly RoutePart[];
  /** For complex segments (more than one part): the whole-segment matcher. */
  readonly pattern: RegExp | undefined;
}

export interface RouteTemplate {
  readonly text: string;
  readonly segments: readonly RouteSegment[];
}

// ASP.NET rejects these characters in parameter names (RoutePatternParser.IsValidParameterName).
const INVALID_NAME_CHARS = /[/{}?*=:]/;

export function parseRouteTemplate(text: string): RouteTemplate {
  // The Functions host accepts "/items" and "items" alike.
  const trimmed = text.replace(/^~?\/+/, '');
  if (trimmed.length === 0) return { text, segments: [] };
  const rawSegments = splitTemplateSegments(trimmed, text);
  const seen = new Set<string>();
  const segments = rawSegments.map((raw, index) => {
    if (raw.length === 0) throw new RouteTemplateError(`Route "${text}" has an empty segment`, text);
    const parts = parseSegmentParts(raw, text);
    const isLast = index === rawSegments.length - 1;
    for (const [i, part] of parts.entries()) {
      if (part.kind !== 'parameter') continue;
      const key = part.name.toLowerCase();
      if (seen.has(key))
        throw new RouteTemplateError(`Route "${text}" uses parameter "${part.name}" twice`, text);
      seen.add(key);
      if (part.catchAll && (parts.length > 1 || !isLast)) {
        throw new RouteTemplateError(
          `Route "${text}": a catch-all parameter must be the whole last segment`,
          text,
        );
      }
      if (part.optional && (!isLast || parts.length > 1)) {
        // ASP.NET allows `{file}.{ext?}`; this host does not (it is rare and subtle), so say so.
        throw new RouteTemplateError(
          `Route "${text}": an optional parameter must be the whole last segment`,
          text,
        );
      }
      const next = parts[i + 1];
      if (next?.kind === 'parameter') {
        throw new RouteTemplateError(
          `Route "${text}": parameters "${part.name}" and "${next.name}" need a literal between them`,
          text,
        );
      }
    }
    return { parts, pattern: parts.length > 1 ? complexSegmentPattern(parts) : undefined };
  });
  return { text, segments };
}

/**
 * Splits on `/`, but not inside `{…}` (a regex constraint may contain a slash). Doubled braces are
 * escapes (`{{` is a literal "{" outside a parameter and an escaped brace inside one).
 */
function splitTemplateSegments(template: string, original: string): string[] {
  const out: string[] = [];
  let current = '';
  let inParameter = false;
  for (let i = 0; i < template.length; i++) {
    const c = template[i] as string;
    const next = template[i + 1];
    if ((c === '{' || c === '}') && next === c) {
      current += c + c;
      i++;
      continue;
    }
    if (c === '{') inParameter = true;
    else if (c === '}') inParameter = false;
    if (c === '/' && !inParameter) {
      out.push(current);
      current = '';
      continue;
    }
    current += c;
  }
  if (inParameter) throw new RouteTemplateError(`Route "${original}" has an unclosed "{"`, original);
  // A trailing slash in the template is ignored, as request paths with one are.
  if (current.length > 0 || out.length === 0) out.push(current);
  return out;
}

function parseSegmentParts(raw: string, template: string): RoutePart[] {
  const parts: RoutePart[] = [];
  let literal = '';
  let i = 0;
  while (i < raw.length) {
    const c = raw[i] as string;
    if (c === '{' && raw[i + 1] === '{') {
      literal += '{';
      i += 2;
      continue;
    }
    if (c === '}' && raw[i + 1] === '}') {
      literal += '}';
      i += 2;
      continue;
    }
    if (c === '}') throw new RouteTemplateError(`Route "${template}" has an unmatched "}"`, template);
    if (c === '?') throw new RouteTemplateError(`Route "${template}" has "?" outside a parameter`, template);
    if (c !== '{') {
      literal += c;
      i++;
      continue;
    }
    if (literal) parts.push({ kind: 'literal', text: literal });
    literal = '';
    // Find the closing brace; `}}` inside a parameter is an escaped brace (regex constraints).
    let inner = '';
    let j = i + 1;
    for (;;) {
      const d = raw[j];
      if (d === undefined) throw new RouteTemplateError(`Route "${template}" has an unclosed "{"`, template);
      if (d === '}' && raw[j + 1] === '}') {
        inner += '}';
        j += 2;
        continue;
      }
      if (d === '{' && raw[j + 1] === '{') {
        inner += '{';
        j += 2;
        continue;
      }
      if (d === '}') break;
      inner += d;
      j++;
    }
    parts.push(parseParameter(inner, template));
    i = j + 1;
  }
  if (literal) parts.push({ kind: 'literal', text: literal });
  return parts;
}

function parseParameter(inner: string, template: string): RouteParameter {
  let s = inner.trim();
  let catchAll = false;
  if (s.startsWith('**')) {
    catchAll = true;
    s = s.slice(2);
  } else if (s.startsWith('*')) {
    catchAll = true;
    s = s.slice(1);
  }
  let optional = false;
  if (s.endsWith('?')) {
    optional = true;
    s = s.slice(0, -1);
  }
  // Split name, constraints and default at top-level ':' and '=' (not inside parentheses).
  const pieces: { sep: string; text: string }[] = [];
  let depth = 0;
  let current = '';
  let sep = '';
  for (const c of s) {
    if (c === '(') depth++;
    if (c === ')') depth = Math.max(0, depth - 1);
    if (depth === 0 && (c === ':' || (c === '=' && sep !== '='))) {
      pieces.push({ sep, text: current });
      current = '';
      sep = c;
      continue;
    }
    current += c;
  }
  pieces.push({ sep, text: current });
  const name = pieces[0]?.text ?? '';
  if (name.length === 0 || INVALID_NAME_CHARS.test(name)) {
    throw new RouteTemplateError(`Route "${template}" has an invalid parameter "{${inner}}"`, template);
  }
  const constraints: RouteConstraint[] = [];
  let defaultValue: string | undefined;
  for (const piece of pieces.slice(1)) {
    if (piece.sep === ':') {
      if (defaultValue !== undefined) {
        throw new RouteTemplateError(
          `Route "${template}": put constraints before the default value`,
          template,
        );
      }
      constraints.push(parseRouteConstraint(piece.text));
    } else defaultValue = piece.text;
  }
  if (catchAll && optional) {
    throw new RouteTemplateError(`Route "${template}": a catch-all parameter cannot be optional`, template);
  }
  if (optional && defaultValue !== undefined) {
    throw new RouteTemplateError(
      `Route "${template}": parameter "${name}" cannot be optional and have a default`,
      template,
    );
  }
  return { kind: 'parameter', name, optional, catchAll, defaultValue, constraints };
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function complexSegmentPattern(parts: readonly RoutePart[]): RegExp {
  // Greedy groups reproduce ASP.NET's right-to-left matching: `{a}.{b}` on "x.y.z" gives a="x.y".
  const body = parts.map((p) => (p.kind === 'literal' ? escapeRegExp(p.text) : '(.+)')).join('');
  return new RegExp(`^${body}$`, 'i');
}

/** Splits a request path into decoded segments; one trailing slash is ignored, as ASP.NET does. */
export function splitRequestPath(pathname: string): string[] {
  let p = pathname.replace(/^\/+/, '');
  if (p.endsWith('/')) p = p.slice(0, -1);
  if (p.length === 0) return [];
  return p.split('/').map(decodeSegment);
}

function decodeSegment(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

function satisfies(param: RouteParameter, value: string): boolean {
  return param.constraints.every((c) => c.test(value));
}

/** Route values for a match, or undefined. `segments` are decoded path segments after the prefix. */
export function matchRouteTemplate(
  template: RouteTemplate,
  segments: readonly string[],
): Record<string, string> | undefined {
  const values: Record<string, string> = {};
  const tpl = template.segments;
  for (let i = 0; i < tpl.length; i++) {
    const seg = tpl[i] as RouteSegment;
    const only = seg.parts.length === 1 ? seg.parts[0] : undefined;
    if (only?.kind === 'parameter' && only.catchAll) {
      const rest = segments.slice(i);
      if (rest.some((s) => s.length === 0)) return undefined;
      const value = rest.join('/');
      if (value.length > 0) {
        if (!satisfies(only, value)) return undefined;
        values[only.name] = value;
      } else if (only.defaultValue !== undefined) values[only.name] = only.defaultValue;
      return values;
    }
    const actual = segments[i];
    if (actual === undefined) {
      // Missing trailing segments are fine only for optional parameters and parameters with defaults.
      if (only?.kind === 'parameter' && (only.optional || only.defaultValue !== undefined)) {
        if (only.defaultValue !== undefined) values[only.name] = only.defaultValue;
        continue;
      }
      return undefined;
    }
    if (actual.length === 0) return undefined;
    if (only?.kind === 'literal') {
      if (only.text.toLowerCase() !== actual.toLowerCase()) return undefined;
      continue;
    }
    if (only?.kind === 'parameter') {
      if (!satisfies(only, actual)) return undefined;
      values[only.name] = actual;
      continue;
    }
    const m = seg.pattern?.exec(actual);
    if (!m) return undefined;
    let group = 1;
    for (const part of seg.parts) {
      if (part.kind !== 'parameter') continue;
      const value = m[group++] ?? '';
      if (!satisfies(part, value)) return undefined;
      values[part.name] = value;
    }
  }
  return segments.length <= tpl.length ? values : undefined;
}

/**
 * ASP.NET's inbound precedence (RoutePrecedence.ComputeInbound): one digit per segment, lower wins.
 * literal 1, complex segment 2, constrained parameter 3, plain parameter 4, catch-all 5.
 */
export function routePrecedence(template: RouteTemplate): number[] {
  return template.segments.map((seg) => {
    if (seg.parts.length > 1) return 2;
    const only = seg.parts[0];
    if (!only || only.kind === 'literal') return 1;
    if (only.catchAll) return 5;
    return only.constraints.length > 0 ? 3 : 4;
  });
}

/** Orders templates as ASP.NET does: by precedence digits, then by template text (case-insensitive). */
export function compareRoutes(a: RouteTemplate, b: RouteTemplate): number {
  const pa = routePrecedence(a);
  const pb = routePrecedence(b);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = pa[i] ?? 0;
    const y = pb[i] ?? 0;
    if (x !== y) return x - y;
  }
  const ta = a.text.toLowerCase();
  const tb = b.text.toLowerCase();
  return ta < tb ? -1 : ta > tb ? 1 : 0;
}
