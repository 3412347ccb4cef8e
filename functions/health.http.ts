// GET /api/health: is the app up and can it reach blob, queue and table storage?
import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { checkHealth, type HealthReport } from '../shared/health/checkHealth';
import { STORAGE_SERVICES, type StorageProbe } from '../shared/health/storageProbe';

export const HEALTH_UNAVAILABLE_CODE = 'HEALTH.STORAGE_UNAVAILABLE';

/** Maps a report to HTTP: 200 when healthy, else 503 with an Azure-style `error` (code, message, details). */
export function toHealthResponse(report: HealthReport): HttpResponseInit {
  // Health answers describe this instant; a cached 200 would hide an outage.
  const headers = { 'Cache-Control': 'no-store' };
  if (report.status === 'healthy') {
    return { status: 200, headers, jsonBody: { status: report.status, storage: report.storage } };
  }
  const details = STORAGE_SERVICES.flatMap((service) => {
    const error = report.storage[service].error;
    return error === undefined ? [] : [{ code: error.code, target: service, message: error.message }];
  });
  return {
    status: 503,
    headers,
    jsonBody: {
      status: report.status,
      storage: report.storage,
      error: {
        code: HEALTH_UNAVAILABLE_CODE,
        message: `Storage is not fully reachable: ${details.map((d) => d.target).join(', ') || 'unknown'}.`,
        details,
      },
    },
  };
}

export function createHealthHandler(
  probe: StorageProbe,
): (request: HttpRequest, context: InvocationContext) => Promise<HttpResponseInit> {
  return async (_request, context) => {
    const report = await checkHealth(probe);
    const response = toHealthResponse(report);
    if (report.status !== 'healthy') {
      const failed = STORAGE_SERVICES.filter((s) => !report.storage[s].ok).map(
        (s) => `${s}=${report.storage[s].error?.code ?? 'unknown'}`,
      );
      context.warn(`Health check unhealthy: ${failed.join(' ')}`);
    }
    return response;
  };
}
