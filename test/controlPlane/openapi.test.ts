// docs/openapi.json and the route registry must describe the same API, both ways: every registered
// operation is documented (same path, method, operationId and required action), and every documented
// operation is registered. The HTTP test checks that the host serves exactly the registry.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { API_OPERATIONS } from '../../functions/api/apiRoutes';
import { API_ERROR_STATUS } from '../../shared/controlPlane/apiErrors';

interface OpenApiOperation {
  operationId?: string;
  'x-strongbox-action'?: string;
  parameters?: { name: string; in: string }[];
  responses?: Record<string, { description?: string }>;
}
const doc = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'docs', 'openapi.json'), 'utf8')) as {
  openapi: string;
  paths: Record<string, Record<string, OpenApiOperation>>;
};

const documented = Object.entries(doc.paths).flatMap(([p, ops]) =>
  Object.entries(ops).map(([method, op]) => ({ key: `${method.toUpperCase()} ${p}`, op })),
);
const registered = API_OPERATIONS.map((op) => ({ key: `${op.method} /api/${op.route}`, op }));

describe('docs/openapi.json', () => {
  it('is OpenAPI 3', () => {
    expect(doc.openapi).toMatch(/^3\./);
  });

  it('documents every registered route', () => {
    const keys = new Set(documented.map((d) => d.key));
    expect(registered.map((r) => r.key).filter((k) => !keys.has(k))).toEqual([]);
  });

  it('registers every documented route', () => {
    const keys = new Set(registered.map((r) => r.key));
    expect(documented.map((d) => d.key).filter((k) => !keys.has(k))).toEqual([]);
  });

  it.each(registered)(
    '$key: same operationId, action and path parameters; documents 401 and 403',
    ({ key, op }) => {
      const d = documented.find((x) => x.key === key)?.op;
      expect(d?.operationId).toBe(op.name);
      expect(d?.['x-strongbox-action']).toBe(op.action);
      const routeParams = [...op.route.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
      expect(
        (d?.parameters ?? [])
          .filter((p) => p.in === 'path')
          .map((p) => p.name)
          .sort(),
      ).toEqual(routeParams);
      expect(Object.keys(d?.responses ?? {})).toEqual(expect.arrayContaining(['401', '403']));
    },
  );

  it('names only error codes the API has', () => {
    const named = [...JSON.stringify(doc).matchAll(/Error \(([^)]*)\)/g)].flatMap((m) =>
      (m[1] ?? '').split(', '),
    );
    expect(named.filter((c) => !(c in API_ERROR_STATUS))).toEqual([]);
  });
});
