import * as net from 'node:net';
import { HttpRequest, InvocationContext, type HttpResponseInit } from '@azure/functions';
import { createHealthHandler, HEALTH_UNAVAILABLE_CODE } from '../../functions/health.http';
import {
  connectionStringFor,
  freePort,
  startAzurite,
  type AzuriteInstance,
} from '../../host/src/azurite/azuriteProcess';
import { loadConfig, type StorageConnection } from '../../shared/config/config';
import { createAzureStorageProbe } from '../../shared/health/azureStorageProbe';
import {
  STORAGE_PROBE_ERROR,
  type ServiceProbeResult,
  type StorageProbe,
  type StorageProbeResult,
} from '../../shared/health/storageProbe';

const TIMEOUT_MS = 500;
// Generous: CI machines stall; the point is "bounded by the timeout", not a benchmark.
const TIMEOUT_SLACK_MS = 1_500;

function storageFrom(connectionString: string): StorageConnection {
  return loadConfig({ AzureWebJobsStorage: connectionString }).storage;
}

async function invoke(probe: StorageProbe): Promise<{ response: HttpResponseInit; warnings: string[] }> {
  const warnings: string[] = [];
  const context = new InvocationContext({
    functionName: 'health',
    logHandler: (level, ...args) => {
      if (level === 'warning') warnings.push(args.map(String).join(' '));
    },
  });
  const request = new HttpRequest({ method: 'GET', url: 'http://localhost:7071/api/health' });
  const response = await createHealthHandler(probe)(request, context);
  return { response, warnings };
}

describe('GET /api/health handler', () => {
  const up: ServiceProbeResult = { ok: true, latencyMs: 3 };
  const fake = (result: StorageProbeResult): StorageProbe => ({ probe: () => Promise.resolve(result) });

  it('answers 200 with the status and each service when storage is healthy', async () => {
    const { response, warnings } = await invoke(fake({ blob: up, queue: up, table: up }));
    expect(response.status).toBe(200);
    expect(response.headers).toEqual({ 'Cache-Control': 'no-store' });
    expect(response.jsonBody).toEqual({ status: 'healthy', storage: { blob: up, queue: up, table: up } });
    expect(warnings).toEqual([]);
  });

  it('answers 503 with Azure-style error details when one service is down', async () => {
    const queue: ServiceProbeResult = {
      ok: false,
      latencyMs: 3000,
      error: {
        code: STORAGE_PROBE_ERROR.TIMEOUT,
        message: 'The queue service did not answer within 3000 ms.',
      },
    };
    const { response, warnings } = await invoke(fake({ blob: up, queue, table: up }));
    expect(response.status).toBe(503);
    expect(response.jsonBody).toEqual({
      status: 'unhealthy',
      storage: { blob: up, queue, table: up },
      error: {
        code: HEALTH_UNAVAILABLE_CODE,
        message: 'Storage is not fully reachable: queue.',
        details: [
          {
            code: 'STORAGE.TIMEOUT',
            target: 'queue',
            message: 'The queue service did not answer within 3000 ms.',
          },
        ],
      },
    });
    expect(warnings).toEqual(['Health check unhealthy: queue=STORAGE.TIMEOUT']);
  });

  it('keeps account keys and SAS signatures out of the body when the real SDK fails', async () => {
    const port = await freePort(); // Nothing listens here, so every call fails with the SDK's own error.
    const sig = 'SIGNATUREdoNotLeak0123456789';
    const sasString =
      `BlobEndpoint=http://127.0.0.1:${port}/devstoreaccount1;QueueEndpoint=http://127.0.0.1:${port}/devstoreaccount1;` +
      `TableEndpoint=http://127.0.0.1:${port}/devstoreaccount1;SharedAccessSignature=sv=2022-11-02&ss=bqt&sig=${sig}`;
    const keyString = connectionStringFor(port, port, port);
    const accountKey = /AccountKey=([^;]+)/.exec(keyString)?.[1] ?? 'missing';

    for (const cs of [sasString, keyString]) {
      const { response, warnings } = await invoke(
        createAzureStorageProbe(storageFrom(cs), { timeoutMs: TIMEOUT_MS }),
      );
      expect(response.status).toBe(503);
      const text = JSON.stringify(response.jsonBody) + warnings.join('\n');
      expect(text).not.toContain(sig);
      expect(text).not.toContain(accountKey);
      expect(text).not.toContain('AccountKey');
      expect(text).not.toContain('SharedAccessSignature');
    }
  });
});

describe('azureStorageProbe against Azurite', () => {
  let azurite: AzuriteInstance;

  beforeAll(async () => {
    azurite = await startAzurite();
  });

  afterAll(async () => {
    await azurite?.stop();
  });

  it('reports blob, queue and table ok', async () => {
    const result = await createAzureStorageProbe(storageFrom(azurite.connectionString)).probe();
    for (const service of ['blob', 'queue', 'table'] as const) {
      const { ok, latencyMs, error } = result[service];
      expect({ service, ok, error }).toEqual({ service, ok: true, error: undefined });
      expect(Number.isInteger(latencyMs) && latencyMs >= 0).toBe(true);
    }
  });

  it('serves a healthy 200 through the handler', async () => {
    const { response } = await invoke(createAzureStorageProbe(storageFrom(azurite.connectionString)));
    expect(response.status).toBe(200);
  });

  it('reports a wrong port as unreachable within the timeout', async () => {
    const port = await freePort();
    const probe = createAzureStorageProbe(storageFrom(connectionStringFor(port, port, port)), {
      timeoutMs: TIMEOUT_MS,
    });
    const started = Date.now();
    const result = await probe.probe();
    expect(Date.now() - started).toBeLessThan(TIMEOUT_MS + TIMEOUT_SLACK_MS);
    for (const service of ['blob', 'queue', 'table'] as const) {
      expect(result[service].ok).toBe(false);
      expect(result[service].error?.code).toBe(STORAGE_PROBE_ERROR.UNREACHABLE);
    }
  });

  it('reports a server that never answers as a timeout, bounded by the timeout', async () => {
    const sockets = new Set<net.Socket>();
    // Accepts connections and never writes: the case a refused port does not cover.
    const silent = net.createServer((socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as net.AddressInfo;
    try {
      const probe = createAzureStorageProbe(storageFrom(connectionStringFor(port, port, port)), {
        timeoutMs: TIMEOUT_MS,
      });
      const started = Date.now();
      const result = await probe.probe();
      const elapsed = Date.now() - started;
      expect(elapsed).toBeGreaterThanOrEqual(TIMEOUT_MS - 50);
      expect(elapsed).toBeLessThan(TIMEOUT_MS + TIMEOUT_SLACK_MS);
      for (const service of ['blob', 'queue', 'table'] as const) {
        const { ok, latencyMs, error } = result[service];
        expect({ ok, error }).toEqual({
          ok: false,
          error: {
            code: STORAGE_PROBE_ERROR.TIMEOUT,
            message: `The ${service} service did not answer within ${TIMEOUT_MS} ms.`,
          },
        });
        expect(latencyMs).toBeGreaterThanOrEqual(TIMEOUT_MS - 50);
      }
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });

  it('reports a wrong account key as an authentication failure', async () => {
    const wrongKey = azurite.connectionString.replace(
      /AccountKey=[^;]+/,
      `AccountKey=${Buffer.from('wrong').toString('base64')}`,
    );
    const result = await createAzureStorageProbe(storageFrom(wrongKey), { timeoutMs: 5_000 }).probe();
    for (const service of ['blob', 'queue', 'table'] as const) {
      expect({ service, ok: result[service].ok, code: result[service].error?.code }).toEqual({
        service,
        ok: false,
        code: STORAGE_PROBE_ERROR.AUTH_FAILED,
      });
    }
  });
});
