// ServiceClient over the Strongbox HTTP API (docs/api.md): bearer token, JSON bodies, ARM error shape.
// A refusal becomes a ServiceError whose code is `API.<error code>` and whose message is the API's,
// naming the field and rule, so the CLI prints exactly what the service said.
import { StrongboxError } from '../../shared/errors';
import type { VaultCredentialsFile } from '../../shared/offline/vaultCredentials';
import type { DataAccessGrant, Resource, ServiceClient, VaultRef } from './serviceClient';

export class ServiceError extends StrongboxError {
  constructor(
    readonly apiCode: string,
    readonly status: number,
    message: string,
    readonly target?: string,
  ) {
    super(`API.${apiCode}`, target ? `${message} (field: ${target})` : message);
  }
}

/** Attempts for a request that failed on the network or with 503 (the service asked us to retry). */
const ATTEMPTS = 4;

export function httpServiceClient(serviceUrl: string, token: () => string): ServiceClient {
  const base = serviceUrl.replace(/\/+$/, '');
  const vaultPath = (v: VaultRef) =>
    `/api/subscriptions/${encodeURIComponent(v.subscriptionId)}/vaults/${encodeURIComponent(v.vaultName)}`;

  async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      let res: Response;
      try {
        res = await fetch(base + path, {
          method,
          headers: {
            authorization: `Bearer ${token()}`,
            ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
          },
          ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        });
      } catch (err) {
        if (attempt < ATTEMPTS) {
          await new Promise((r) => setTimeout(r, 500 * attempt));
          continue;
        }
        throw new ServiceError(
          'Unreachable',
          0,
          `the service at ${base} is unreachable: ${(err as Error).message}`,
        );
      }
      const text = await res.text();
      let json: unknown;
      try {
        json = text ? (JSON.parse(text) as unknown) : {};
      } catch {
        json = {};
      }
      if (res.ok) return json as T;
      if (res.status === 503 && attempt < ATTEMPTS) {
        await new Promise((r) => setTimeout(r, 1000 * attempt));
        continue;
      }
      const e = (json as { error?: { code?: string; message?: string; target?: string } }).error;
      throw new ServiceError(
        e?.code ?? `HTTP${res.status}`,
        res.status,
        e?.message ?? `${method} ${path} answered HTTP ${res.status}`,
        e?.target,
      );
    }
  }

  const page = async (path: string): Promise<Resource[]> => {
    const out: Resource[] = [];
    let next: string | undefined = path;
    while (next !== undefined) {
      const r: { value: Resource[]; nextLink?: string } = await call('GET', next);
      out.push(...r.value);
      next = r.nextLink ? new URL(r.nextLink).pathname + new URL(r.nextLink).search : undefined;
    }
    return out;
  };

  return {
    vaultCredentials: (v) => call<VaultCredentialsFile>('POST', `${vaultPath(v)}/vaultCredentials`, {}),
    register: (v, server, body) =>
      call('POST', `${vaultPath(v)}/servers/${encodeURIComponent(server)}/register`, body),
    dataAccess: (v, server) =>
      call<DataAccessGrant>('POST', `${vaultPath(v)}/servers/${encodeURIComponent(server)}/dataAccess`, {}),
    protect: (v, server, body) =>
      call('POST', `${vaultPath(v)}/servers/${encodeURIComponent(server)}/protect`, body),
    postEvent: (v, server, event) =>
      call('POST', `${vaultPath(v)}/servers/${encodeURIComponent(server)}/events`, event),
    putOfflineBackup: (v, name, properties) =>
      call('PUT', `${vaultPath(v)}/offlineBackups/${encodeURIComponent(name)}`, { properties }),
    getOfflineBackup: (v, name) => call('GET', `${vaultPath(v)}/offlineBackups/${encodeURIComponent(name)}`),
    listOfflineBackups: (v) => page(`${vaultPath(v)}/offlineBackups`),
    putImportJob: (v, name, properties) =>
      call('PUT', `${vaultPath(v)}/importJobs/${encodeURIComponent(name)}`, { properties }),
    getImportJob: (v, name) => call('GET', `${vaultPath(v)}/importJobs/${encodeURIComponent(name)}`),
    putShipping: (v, name, body) =>
      call('PUT', `${vaultPath(v)}/importJobs/${encodeURIComponent(name)}/shippingDetails`, body),
    listRecoveryPoints: (v, item) =>
      page(`${vaultPath(v)}/protectedItems/${encodeURIComponent(item)}/recoveryPoints?$top=1000`),
  };
}
