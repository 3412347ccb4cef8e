// A VM-protection test environment: its own Azurite (free ports) and the compiled app on the local
// host, a local signing key and tokens per role, the local fabric (the "world" the VMs live in) and a
// small client of the HTTP API. Tests drive the workflows ONLY through the API; they use the fabric
// to create and change VMs and to read disks for comparison, as an admin of the machines would.
// Run `npx tsc -p tsconfig.json` first: the host runs the compiled app.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startAzurite, type AzuriteInstance } from '../../host/src/azurite/azuriteProcess';
import {
  loadOrCreateLocalSigningKey,
  mintLocalToken,
  type LocalSigningKey,
} from '../../shared/auth/localSigningKey';
import { parseScope } from '../../shared/auth/roleAssignments';
import type { Role } from '../../shared/auth/roles';
import { LOCAL_AUTH_AUDIENCE, LOCAL_AUTH_ISSUER, loadConfig } from '../../shared/config/config';
import { createControlPlane, type ControlPlane } from '../../shared/controlPlane/controlPlane';
import { cryptoIds, systemClock } from '../../shared/controlPlane/controlPlanePorts';
import { LocalFabric } from '../../shared/fabric/localFabric';
import { azureTableStateStore } from '../../shared/state/azureTableStateStore';
import { startHostProcess, type HostProcess } from '../support/hostProcess';

const REPO_ROOT = path.resolve(__dirname, '..', '..');
export const DAY_MS = 86_400_000;

export interface ApiAnswer {
  readonly status: number;
  readonly body: Record<string, unknown> & { error?: { code: string; message: string; target?: string } };
  readonly headers: Headers;
}

export interface JobView {
  readonly name: string;
  readonly properties: {
    operation: string;
    status: string;
    itemName?: string;
    startTime: string;
    endTime?: string;
    durationMs?: number;
    bytesTransferred: number;
    progressPercent: number;
    error?: { code: string; message: string };
    extendedInfo?: Record<string, string | number | boolean>;
  };
}

export interface VmTestEnv {
  readonly azurite: AzuriteInstance;
  host: HostProcess;
  readonly fabric: LocalFabric;
  /** A control plane on the same storage, for grants (role assignments are not an API here). */
  readonly cp: ControlPlane;
  readonly key: LocalSigningKey;
  readonly hostEnv: Record<string, string>;
  readonly tmp: string;
  token(principal: string): Promise<string>;
  grant(principal: string, role: Role, scope: string): Promise<void>;
  api(
    method: string,
    urlPath: string,
    options?: { token?: string | null; body?: unknown },
  ): Promise<ApiAnswer>;
  waitJob(sub: string, vault: string, jobId: string, timeoutMs?: number): Promise<JobView>;
  /**
   * Discover → register → protect `vms` with `policyName` (default DefaultPolicy) in an existing
   * vault, waiting for each step's jobs and failing on any that does not complete.
   */
  protect(sub: string, vault: string, vms: readonly string[], policyName?: string): Promise<void>;
  /** The host's clock (it may have been moved with advanceClock), in ms. */
  hostNow(): Promise<number>;
  advanceClock(ms: number): Promise<void>;
  restartHost(opts?: { keepClock?: boolean }): Promise<void>;
  stop(): Promise<void>;
}

export interface VmTestEnvOptions {
  /** Azurite on disk (needed to survive a host kill with the data); default in memory. */
  readonly onDisk?: boolean;
  readonly env?: Record<string, string>;
}

export async function startVmTestEnv(options: VmTestEnvOptions = {}): Promise<VmTestEnv> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sb-vm-'));
  const azurite = await startAzurite(options.onDisk ? { location: path.join(tmp, 'azurite') } : {});
  const authDir = path.join(tmp, 'auth');
  fs.mkdirSync(authDir);
  const key = await loadOrCreateLocalSigningKey(authDir);
  const hostEnv: Record<string, string> = {
    STRONGBOX_LOCAL_AUTH_DIR: authDir,
    STRONGBOX_AUTH_JWKS_URI: '',
    STRONGBOX_AUTH_ISSUER: '',
    STRONGBOX_AUTH_AUDIENCE: '',
    STRONGBOX_LOCAL_KEY_FILE: path.join(tmp, 'vm-kek'),
    STRONGBOX_HOST_LOG: 'warn',
    ...options.env,
  };
  const start = (env: Record<string, string>, port?: number) =>
    startHostProcess({
      appDir: REPO_ROOT,
      connectionString: azurite.connectionString,
      env,
      ...(port !== undefined ? { port } : {}),
      readyTimeoutMs: 60_000,
    });
  let host = await start(hostEnv);
  const fabric = LocalFabric.fromConnectionString(azurite.connectionString);
  const cp = createControlPlane({
    store: azureTableStateStore(loadConfig({ AzureWebJobsStorage: azurite.connectionString }).storage),
    clock: systemClock,
    ids: cryptoIds,
  });
  const tokens = new Map<string, string>();

  const env: VmTestEnv = {
    azurite,
    get host() {
      return host;
    },
    set host(h: HostProcess) {
      host = h;
    },
    fabric,
    cp,
    key,
    hostEnv,
    tmp,
    async token(principal) {
      let t = tokens.get(principal);
      if (!t) {
        t = await mintLocalToken(key, {
          principalId: principal,
          issuer: LOCAL_AUTH_ISSUER,
          audience: LOCAL_AUTH_AUDIENCE,
          expiresInSeconds: 4 * 3600,
        });
        tokens.set(principal, t);
      }
      return t;
    },
    async grant(principal, role, scope) {
      await cp.roleAssignments.assign(principal, role, parseScope(scope), new Date());
    },
    async api(method, urlPath, opts = {}) {
      const headers: Record<string, string> = {};
      const token = opts.token === undefined ? await env.token('owner') : opts.token;
      if (token !== null) headers.authorization = `Bearer ${token}`;
      let body: string | undefined;
      if (opts.body !== undefined) {
        body = JSON.stringify(opts.body);
        headers['content-type'] = 'application/json';
      }
      const res = await fetch(`${host.baseUrl}/api${urlPath}`, {
        method,
        headers,
        ...(body !== undefined ? { body } : {}),
      });
      const text = await res.text();
      return {
        status: res.status,
        body: text ? (JSON.parse(text) as ApiAnswer['body']) : {},
        headers: res.headers,
      };
    },
    async protect(sub, vault, vms, policyName = 'DefaultPolicy') {
      const base = `/subscriptions/${sub}/vaults/${vault}`;
      const done = async (jobIds: string[]) => {
        for (const id of jobIds) {
          const j = await env.waitJob(sub, vault, id);
          if (j.properties.status !== 'Completed')
            throw new Error(`${j.properties.operation} job ${id} ended ${j.properties.status}`);
        }
      };
      const ids = (r: ApiAnswer) => (r.body.value as { jobId: string }[]).map((v) => v.jobId);
      await done([String((await env.api('POST', `${base}/discoverVms`)).body.name)]);
      await done(ids(await env.api('POST', `${base}/registerVms`, { body: { vms } })));
      await done(ids(await env.api('POST', `${base}/protectVms`, { body: { policyName, items: vms } })));
    },
    async hostNow() {
      const res = await env.host.fetch('/admin/host/clock');
      return Date.parse(((await res.json()) as { now: string }).now);
    },
    async waitJob(sub, vault, jobId, timeoutMs = 120_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const r = await env.api('GET', `/subscriptions/${sub}/vaults/${vault}/jobs/${jobId}`);
        const job = r.body as unknown as JobView;
        if (r.status === 200 && ['Completed', 'Failed', 'Cancelled'].includes(job.properties.status))
          return job;
        if (Date.now() > deadline) {
          throw new Error(
            `job ${jobId} did not end within ${timeoutMs} ms: ${JSON.stringify(r.body)}\n${host.logs().slice(-4000)}`,
          );
        }
        await new Promise((res) => setTimeout(res, 150));
      }
    },
    async advanceClock(ms) {
      const res = await host.fetch('/admin/host/clock', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ advanceMs: ms }),
      });
      if (res.status !== 200) throw new Error(`advancing the clock failed: ${res.status}`);
      await res.arrayBuffer();
    },
    async restartHost(opts = {}) {
      let offset = 0;
      if (opts.keepClock) {
        const res = await host.fetch('/admin/host/clock');
        offset = ((await res.json()) as { offsetMs: number }).offsetMs;
      }
      await host.stop();
      host = await start(
        { ...hostEnv, ...(offset > 0 ? { STRONGBOX_CLOCK_OFFSET_MS: String(offset) } : {}) },
        host.port,
      );
    },
    async stop() {
      await host.stop();
      await azurite.stop();
      fs.rmSync(tmp, { recursive: true, force: true });
    },
  };
  return env;
}

/** SHA-256 of every disk of a VM (the live page blobs), in disk order. */
export async function vmDiskHashes(fabric: LocalFabric, vmName: string): Promise<string[]> {
  const vm = await fabric.getVm(vmName);
  const out: string[] = [];
  for (const d of vm.disks) {
    const data = await fabric.pageBlob(d.diskId).downloadToBuffer(0, d.sizeBytes);
    out.push(createHash('sha256').update(data).digest('hex'));
  }
  return out;
}

/** Polls `f` until it returns a value that is not undefined. */
export async function eventually<T>(
  what: string,
  f: () => Promise<T | undefined>,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
