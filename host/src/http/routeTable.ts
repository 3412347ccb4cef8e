// The HTTP-triggered functions' routes, matched as the Functions host matches them: the route
// prefix (host.json extensions.http.routePrefix, default "api"), then the template; among the
// routes that match the path AND the method, ASP.NET precedence picks one (literals beat
// parameters). A path that only matches with another method is 404, not 405: the Functions host
// registers methods as route constraints, so a wrong method is simply "no route".
import type { RegisteredFunction } from '../core/registry';
import { parseAuthLevel, type AuthLevel } from './httpAuth';
import { RouteTemplateError } from './routeErrors';
import {
  compareRoutes,
  matchRouteTemplate,
  parseRouteTemplate,
  splitRequestPath,
  type RouteTemplate,
} from './routeTemplate';

export interface HttpRoute {
  readonly fn: RegisteredFunction;
  /** The route as the function declared it (or its name), without the prefix. */
  readonly route: string;
  /** Prefix and route, parsed together. */
  readonly template: RouteTemplate;
  /** Upper-case methods; undefined means any method. */
  readonly methods: readonly string[] | undefined;
  readonly authLevel: AuthLevel;
}

export interface RouteMatch {
  readonly route: HttpRoute;
  readonly params: Record<string, string>;
}

export function httpRouteFor(fn: RegisteredFunction, routePrefix: string): HttpRoute {
  const declared =
    typeof fn.trigger.route === 'string' && fn.trigger.route.trim() ? fn.trigger.route.trim() : fn.name;
  const route = declared.replace(/^\/+/, '');
  const template = parseRouteTemplate(routePrefix ? `${routePrefix}/${route}` : route);
  const rawMethods = fn.trigger.methods;
  const methods =
    Array.isArray(rawMethods) && rawMethods.length > 0
      ? rawMethods.map((m) => String(m).toUpperCase())
      : undefined;
  const authLevel = parseAuthLevel(fn.trigger.authLevel);
  if (!authLevel) {
    throw new RouteTemplateError(
      `authLevel "${String(fn.trigger.authLevel)}" is not one of anonymous, function, admin`,
      route,
    );
  }
  return { fn, route, template, methods, authLevel };
}

export class RouteTable {
  private readonly ordered: readonly HttpRoute[];

  constructor(routes: readonly HttpRoute[]) {
    this.ordered = [...routes].sort((a, b) => compareRoutes(a.template, b.template));
  }

  get routes(): readonly HttpRoute[] {
    return this.ordered;
  }

  match(method: string, pathname: string): RouteMatch | undefined {
    const segments = splitRequestPath(pathname);
    const m = method.toUpperCase();
    for (const route of this.ordered) {
      if (route.methods && !route.methods.includes(m)) continue;
      const params = matchRouteTemplate(route.template, segments);
      if (params) return { route, params };
    }
    return undefined;
  }
}
