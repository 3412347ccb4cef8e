// Adapter: probes Azure Storage (or Azurite) with the Azure SDKs. Translates SDK errors into our codes at
// the edge, with messages we write ourselves: SDK messages can carry request URLs, and a SAS URL is a secret.
import { TableServiceClient } from '@azure/data-tables';
import { ManagedIdentityCredential } from '@azure/identity';
import { BlobServiceClient } from '@azure/storage-blob';
import { QueueServiceClient } from '@azure/storage-queue';
import type { StorageConnection } from '../config/config';
import {
  STORAGE_PROBE_ERROR,
  type ServiceProbeError,
  type ServiceProbeResult,
  type StorageProbe,
  type StorageService,
} from './storageProbe';

/** Short enough for load-balancer health checks, which commonly give up after 5 s. */
export const STORAGE_PROBE_TIMEOUT_MS = 3_000;

export interface AzureStorageProbeOptions {
  readonly timeoutMs?: number;
  /** Monotonic milliseconds; injectable for tests. */
  readonly now?: () => number;
}

type ServiceCall = (abortSignal: AbortSignal) => Promise<unknown>;

// One attempt per probe: a retry would turn a refused connection into a timeout and hide the cause.
// The caller of /api/health is the one that retries.
const BLOB_QUEUE_OPTIONS = { retryOptions: { maxTries: 1 } };
const TABLE_RETRY_OPTIONS = { maxRetries: 0 };

const NETWORK_ERROR_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ETIMEDOUT',
  'EPIPE',
]);
// SDK error codes are identifiers such as AuthorizationFailure; anything else is not echoed.
const SAFE_SDK_CODE = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;

/**
 * Listing at most one item is the cheapest call that the data roles granted in infra/main.bicep allow on
 * each service. Get Service Properties would need account-level permissions those roles do not include.
 */
function serviceCalls(storage: StorageConnection): Record<StorageService, ServiceCall> {
  let blob: BlobServiceClient;
  let queue: QueueServiceClient;
  let table: TableServiceClient;
  if (storage.kind === 'connectionString') {
    blob = BlobServiceClient.fromConnectionString(storage.connectionString, BLOB_QUEUE_OPTIONS);
    queue = QueueServiceClient.fromConnectionString(storage.connectionString, BLOB_QUEUE_OPTIONS);
    table = TableServiceClient.fromConnectionString(storage.connectionString, {
      retryOptions: TABLE_RETRY_OPTIONS,
      // data-tables refuses to sign plain-http requests unless told; Azurite listens on http.
      allowInsecureConnection: storage.endpoints.table.startsWith('http:'),
    });
  } else {
    // ManagedIdentityCredential, not DefaultAzureCredential: production must use one known credential, not
    // whichever link of a chain happens to answer first.
    const credential =
      storage.clientId === undefined
        ? new ManagedIdentityCredential()
        : new ManagedIdentityCredential({ clientId: storage.clientId });
    blob = new BlobServiceClient(storage.endpoints.blob, credential, BLOB_QUEUE_OPTIONS);
    queue = new QueueServiceClient(storage.endpoints.queue, credential, BLOB_QUEUE_OPTIONS);
    table = new TableServiceClient(storage.endpoints.table, credential, {
      retryOptions: TABLE_RETRY_OPTIONS,
    });
  }
  return {
    blob: (abortSignal) => blob.listContainers({ abortSignal }).byPage({ maxPageSize: 1 }).next(),
    queue: (abortSignal) => queue.listQueues({ abortSignal }).byPage({ maxPageSize: 1 }).next(),
    table: (abortSignal) => table.listTables({ abortSignal }).byPage({ maxPageSize: 1 }).next(),
  };
}

function timeoutError(service: StorageService, timeoutMs: number): ServiceProbeError {
  return {
    code: STORAGE_PROBE_ERROR.TIMEOUT,
    message: `The ${service} service did not answer within ${timeoutMs} ms.`,
  };
}

/** Maps an SDK or network error to our code and our own message (kopia's translateError, STYLE §3). */
export function translateProbeError(
  service: StorageService,
  err: unknown,
  timeoutMs: number,
): ServiceProbeError {
  const e = (typeof err === 'object' && err !== null ? err : {}) as {
    name?: unknown;
    code?: unknown;
    statusCode?: unknown;
  };
  const code = typeof e.code === 'string' && SAFE_SDK_CODE.test(e.code) ? e.code : undefined;
  const status = typeof e.statusCode === 'number' ? e.statusCode : undefined;
  const suffix = code === undefined ? '' : ` (${code})`;
  if (e.name === 'AbortError') return timeoutError(service, timeoutMs);
  if (e.name === 'CredentialUnavailableError' || e.name === 'AuthenticationError') {
    return {
      code: STORAGE_PROBE_ERROR.AUTH_FAILED,
      message: `No token for the ${service} service: the managed identity is unavailable or was refused.`,
    };
  }
  if (status === 401 || status === 403) {
    return {
      code: STORAGE_PROBE_ERROR.AUTH_FAILED,
      message: `The ${service} service refused the credentials with HTTP ${status}${suffix}.`,
    };
  }
  if (status !== undefined && status >= 500) {
    return {
      code: STORAGE_PROBE_ERROR.UNAVAILABLE,
      message: `The ${service} service answered HTTP ${status}${suffix}.`,
    };
  }
  if (status !== undefined) {
    return {
      code: STORAGE_PROBE_ERROR.FAILED,
      message: `The ${service} service answered HTTP ${status}${suffix}.`,
    };
  }
  if (code !== undefined && NETWORK_ERROR_CODES.has(code)) {
    return {
      code: STORAGE_PROBE_ERROR.UNREACHABLE,
      message: `The ${service} service could not be reached (${code}).`,
    };
  }
  return {
    code: STORAGE_PROBE_ERROR.FAILED,
    message: `The ${service} service call failed${suffix}.`,
  };
}

const TIMED_OUT = Symbol('timed out');

async function probeOne(
  service: StorageService,
  call: ServiceCall,
  timeoutMs: number,
  now: () => number,
): Promise<ServiceProbeResult> {
  const controller = new AbortController();
  const started = now();
  const elapsed = () => Math.round(now() - started);
  let timer: NodeJS.Timeout | undefined;
  // The race bounds the wait even if a call ignores the abort signal (e.g. a token request that hangs).
  const deadline = new Promise<typeof TIMED_OUT>((resolve) => {
    timer = setTimeout(() => {
      resolve(TIMED_OUT);
      controller.abort();
    }, timeoutMs);
  });
  try {
    const outcome = await Promise.race([Promise.resolve().then(() => call(controller.signal)), deadline]);
    if (outcome === TIMED_OUT)
      return { ok: false, latencyMs: elapsed(), error: timeoutError(service, timeoutMs) };
    return { ok: true, latencyMs: elapsed() };
  } catch (err) {
    return { ok: false, latencyMs: elapsed(), error: translateProbeError(service, err, timeoutMs) };
  } finally {
    clearTimeout(timer);
  }
}

export function createAzureStorageProbe(
  storage: StorageConnection,
  options: AzureStorageProbeOptions = {},
): StorageProbe {
  const timeoutMs = options.timeoutMs ?? STORAGE_PROBE_TIMEOUT_MS;
  const now = options.now ?? (() => performance.now());
  // Clients are built once: they pool connections and cache the managed-identity token across probes.
  const calls = serviceCalls(storage);
  return {
    async probe() {
      // In parallel: the probe's total time is bounded by one timeout, not three.
      const [blob, queue, table] = await Promise.all([
        probeOne('blob', calls.blob, timeoutMs, now),
        probeOne('queue', calls.queue, timeoutMs, now),
        probeOne('table', calls.table, timeoutMs, now),
      ]);
      return { blob, queue, table };
    },
  };
}
