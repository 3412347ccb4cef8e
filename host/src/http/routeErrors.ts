// A route template that the real host would also reject at startup.
export class RouteTemplateError extends Error {
  readonly code = 'HTTP.ROUTE_TEMPLATE_INVALID';
  constructor(
    message: string,
    readonly template: string,
  ) {
    super(message);
    this.name = 'RouteTemplateError';
  }
}
