// A whole offline-seeding environment for integration tests: Azurite on free ports, the local host
// running the compiled app (`npx tsc -p tsconfig.json` first), a local signing key, a vault with a
// daily policy, role assignments, and the helper CLI run as a child process exactly as an admin runs
// it (`node bin/strongbox-helper.js …`).
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { startAzurite, type AzuriteInstance } from '../../host/src/azurite/azuriteProcess';
import { loadOrCreateLocalSigningKey, mintLocalToken } from '../../shared/auth/localSigningKey';
import { parseScope } from '../../shared/auth/roleAssignments';
import type { Role } from '../../shared/auth/roles';
import { LOCAL_AUTH_AUDIENCE, LOCAL_AUTH_ISSUER, loadConfig } from '../../shared/config/config';
import { createControlPlane, type ControlPlane } from '../../shared/controlPlane/controlPlane';
import { cryptoIds, systemClock } from '../../shared/controlPlane/controlPlanePorts';
import { azureTableStateStore } from '../../shared/state/azureTableStateStore';
import type { StateStore } from '../../shared/state/stateStore';
import { startHostProcess, type HostProcess } from '../support/hostProcess';

export const REPO_ROOT = path.resolve(__dirname, '..', '..');
export const HELPER_BIN = path.join(REPO_ROOT, 'bin', 'strongbox-helper.js');
export const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * An API answer's JSON as the tests read it: any field at any depth. Tests assert on its shape with
 * expect(), so a wrong guess fails the test; the type is deliberately loose.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Loose = any;

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

export interface OfflineEnv {
  azurite: AzuriteInstance;
  host: HostProcess;
  work: string;
  authDir: string;
  store: StateStore;
  cp: ControlPlane;
  sub: string;
  vault: string;
  tokens: Record<string, string>;
  /** Every helper run's output, for the key-hygiene scan. */
  outputs: string[];
  helper(
    args: string[],
    opts?: { stateDir?: string; token?: string; timeoutMs?: number; env?: Record<string, string> },
  ): Promise<Run>;
  spawnHelper(args: string[], opts?: { stateDir?: string; token?: string }): ChildProcess;
  api(
    method: string,
    urlPath: string,
    body?: unknown,
    token?: string,
  ): Promise<{ status: number; body: Loose }>;
  hostNow(): Promise<{ now: string; offsetMs: number }>;
  advance(ms: number): Promise<string>;
  /** SIGKILLs the host, runs `between` while it is down, and starts it again on the same port and timeline. */
  restartHost(between?: () => Promise<void>): Promise<void>;
  stop(): Promise<void>;
}

export interface EnvOptions {
  /** Persist Azurite on disk (large data: in-memory Azurite would hold it all in RAM). */
  azuriteOnDisk?: boolean;
  sub?: string;
  vault?: string;
}

export async function startOfflineEnv(opts: EnvOptions = {}): Promise<OfflineEnv> {
  const work = await mkdtemp(path.join(tmpdir(), 'sbx-offline-'));
  const azurite = await startAzurite(opts.azuriteOnDisk ? { location: path.join(work, 'azurite') } : {});
  const authDir = path.join(work, 'auth');
  const key = await loadOrCreateLocalSigningKey(authDir);
  const hostEnv = {
    STRONGBOX_LOCAL_AUTH_DIR: authDir,
    STRONGBOX_AUTH_JWKS_URI: '',
    STRONGBOX_AUTH_ISSUER: '',
    STRONGBOX_AUTH_AUDIENCE: '',
    STRONGBOX_HOST_LOG: 'info',
  };
  let host = await startHostProcess({
    appDir: REPO_ROOT,
    connectionString: azurite.connectionString,
    env: hostEnv,
  });
  const hostLogs: string[] = [];
  const store = azureTableStateStore(loadConfig({ AzureWebJobsStorage: azurite.connectionString }).storage);
  const cp = createControlPlane({ store, clock: systemClock, ids: cryptoIds });
  const sub = opts.sub ?? 'sub-off';
  const vault = opts.vault ?? 'v1';
  const tokens: Record<string, string> = {};
  const grants: [string, Role, string][] = [
    ['owner', 'Owner', `/subscriptions/${sub}`],
    ['operator', 'Backup Operator', `/subscriptions/${sub}`],
  ];
  for (const [principal, role, scope] of grants) {
    await cp.roleAssignments.assign(principal, role, parseScope(scope), new Date());
    tokens[principal] = await mintLocalToken(key, {
      principalId: principal,
      issuer: LOCAL_AUTH_ISSUER,
      audience: LOCAL_AUTH_AUDIENCE,
      expiresInSeconds: 6 * 3600,
    });
  }
  await cp.vaults.put(sub, vault, { location: 'westeurope' });
  await cp.policies.put(sub, vault, 'Daily0200', {
    properties: {
      schedule: { frequency: 'daily', timeZone: 'UTC', times: ['02:00'] },
      instantRestoreDays: 2,
      retention: { daily: { days: 30 } },
    },
  });
  const outputs: string[] = [];
  const helperEnv = (o: { stateDir?: string; token?: string; env?: Record<string, string> } = {}) => ({
    PATH: process.env.PATH ?? '',
    HOME: work,
    STRONGBOX_HELPER_HOME: o.stateDir ?? path.join(work, 'helper-state'),
    STRONGBOX_TOKEN: o.token ?? tokens.operator ?? '',
    STRONGBOX_SERVICE_URL: host.baseUrl,
    AzureWebJobsStorage: azurite.connectionString,
    ...o.env,
  });

  const env: OfflineEnv = {
    azurite,
    get host() {
      return host;
    },
    work,
    authDir,
    store,
    cp,
    sub,
    vault,
    tokens,
    outputs,
    helper(args, o = {}) {
      return new Promise((resolve) => {
        execFile(
          process.execPath,
          [HELPER_BIN, ...args],
          { cwd: REPO_ROOT, env: helperEnv(o), timeout: o.timeoutMs ?? 600_000, maxBuffer: 64 * 1024 * 1024 },
          (err, stdout, stderr) => {
            const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
            outputs.push(stdout, stderr);
            resolve({ code, stdout, stderr });
          },
        );
      });
    },
    spawnHelper(args, o = {}) {
      return spawn(process.execPath, [HELPER_BIN, ...args], {
        cwd: REPO_ROOT,
        env: helperEnv(o),
        stdio: ['ignore', 'pipe', 'pipe'],
      });
    },
    async api(method, urlPath, body, token) {
      const res = await fetch(`${host.baseUrl}/api/subscriptions/${sub}/vaults/${vault}${urlPath}`, {
        method,
        headers: {
          authorization: `Bearer ${token ?? tokens.owner ?? ''}`,
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
      const text = await res.text();
      const parsed: Loose = text ? JSON.parse(text) : {}; // eslint-disable-line @typescript-eslint/no-unsafe-assignment
      return { status: res.status, body: parsed }; // eslint-disable-line @typescript-eslint/no-unsafe-assignment
    },
    async hostNow() {
      const res = await host.fetch('/admin/host/clock');
      return (await res.json()) as { now: string; offsetMs: number };
    },
    async advance(ms) {
      const res = await host.fetch('/admin/host/clock', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ advanceMs: ms }),
      });
      return ((await res.json()) as { now: string }).now;
    },
    async restartHost(between) {
      const { offsetMs } = await env.hostNow().catch(() => ({ offsetMs: 0 }));
      await host.kill('SIGKILL');
      hostLogs.push(host.logs());
      await between?.();
      host = await startHostProcess({
        appDir: REPO_ROOT,
        port: host.port,
        connectionString: azurite.connectionString,
        env: { ...hostEnv, STRONGBOX_CLOCK_OFFSET_MS: String(offsetMs) },
      });
    },
    async stop() {
      await host.stop();
      await azurite.stop();
      await rm(work, { recursive: true, force: true });
    },
  };
  Object.defineProperty(env, 'hostLogs', { value: () => [...hostLogs, host.logs()].join('\n') });
  return env;
}

/** Every log line the host(s) of an env wrote (including hosts that were restarted). */
export function hostLogsOf(env: OfflineEnv): string {
  return (env as unknown as { hostLogs(): string }).hostLogs();
}

/** Polls until `check` returns a value (not undefined), or fails with the last seen state. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs = 60_000,
  intervalMs = 200,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** Mulberry32: a small seeded PRNG, so a failing run can be replayed from the seed in its message. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** SHA-256 of every file under `dir`, by relative path. */
export async function treeHashes(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (d: string, rel: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) await walk(path.join(d, e.name), r);
      else
        out.set(
          r,
          createHash('sha256')
            .update(await readFile(path.join(d, e.name)))
            .digest('hex'),
        );
    }
  };
  await walk(dir, '');
  return out;
}

export async function fileHash(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of fs.createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** Random bytes with some compressible runs (so both codecs are exercised). */
export function content(size: number, rnd: () => number): Buffer {
  const b = randomBytes(size);
  if (rnd() < 0.3) b.fill(0x61, 0, Math.floor(size / 2));
  return b;
}
