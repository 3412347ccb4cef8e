import {
  STORAGE_PROBE_ERROR,
  STORAGE_SERVICES,
  type StorageProbe,
  type StorageProbeResult,
} from './storageProbe';

export type HealthStatus = 'healthy' | 'unhealthy';

export interface HealthReport {
  readonly status: HealthStatus;
  readonly storage: StorageProbeResult;
}

/** Healthy only when blob, queue and table all answer: Durable Functions needs all three. */
export async function checkHealth(probe: StorageProbe): Promise<HealthReport> {
  let storage: StorageProbeResult;
  try {
    storage = await probe.probe();
  } catch {
    // The port promises not to reject; if an adapter breaks that promise, report it rather than crash.
    const failed = {
      ok: false,
      latencyMs: 0,
      error: { code: STORAGE_PROBE_ERROR.FAILED, message: 'The storage probe failed unexpectedly.' },
    };
    storage = { blob: failed, queue: failed, table: failed };
  }
  const healthy = STORAGE_SERVICES.every((service) => storage[service].ok);
  return { status: healthy ? 'healthy' : 'unhealthy', storage };
}
