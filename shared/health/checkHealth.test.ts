import { checkHealth } from './checkHealth';
import { STORAGE_PROBE_ERROR, type ServiceProbeResult, type StorageProbe } from './storageProbe';

const up: ServiceProbeResult = { ok: true, latencyMs: 4 };
const down: ServiceProbeResult = {
  ok: false,
  latencyMs: 3000,
  error: { code: STORAGE_PROBE_ERROR.TIMEOUT, message: 'The queue service did not answer within 3000 ms.' },
};
const probeOf = (result: Awaited<ReturnType<StorageProbe['probe']>>): StorageProbe => ({
  probe: () => Promise.resolve(result),
});

describe('checkHealth', () => {
  it('is healthy when blob, queue and table all answer', async () => {
    const storage = { blob: up, queue: up, table: up };
    await expect(checkHealth(probeOf(storage))).resolves.toEqual({ status: 'healthy', storage });
  });

  it.each(['blob', 'queue', 'table'] as const)('is unhealthy when only %s is down', async (service) => {
    const storage = { blob: up, queue: up, table: up, [service]: down };
    await expect(checkHealth(probeOf(storage))).resolves.toEqual({ status: 'unhealthy', storage });
  });

  it('reports every service as failed when an adapter rejects against its contract', async () => {
    const report = await checkHealth({ probe: () => Promise.reject(new Error('AccountKey=secret')) });
    expect(report.status).toBe('unhealthy');
    expect(report.storage.blob).toEqual({
      ok: false,
      latencyMs: 0,
      error: { code: STORAGE_PROBE_ERROR.FAILED, message: 'The storage probe failed unexpectedly.' },
    });
    expect(JSON.stringify(report)).not.toContain('secret');
  });
});
