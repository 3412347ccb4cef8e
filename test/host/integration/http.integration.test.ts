import { BlobServiceClient } from '@azure/storage-blob';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { startAzurite, type AzuriteInstance } from '../../../host/src/azurite/azuriteProcess';
import { HOST_CLI, startHostProcess, type HostProcess } from '../../support/hostProcess';
import { BASIC_APP, TIMERS_OFF } from './storageHelpers';

const run = promisify(execFile);

let azurite: AzuriteInstance;
let host: HostProcess;
let functionKey: string;

beforeAll(async () => {
  azurite = await startAzurite();
  host = await startHostProcess({
    appDir: BASIC_APP,
    connectionString: azurite.connectionString,
    env: TIMERS_OFF,
  });
  // The default function key was generated at first start; `strongbox-host keys` reads it back.
  const { stdout } = await run(process.execPath, [HOST_CLI, 'keys', BASIC_APP], {
    env: { ...process.env, AzureWebJobsStorage: azurite.connectionString },
  });
  functionKey = (JSON.parse(stdout) as { functionKeys: { default: string } }).functionKeys.default;
});

afterAll(async () => {
  await host?.stop();
  await azurite?.stop();
});

/** An anonymous request: no key header. */
const anon = (path: string, init: RequestInit = {}): Promise<Response> => fetch(host.baseUrl + path, init);

async function getJson(path: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await anon(path);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('HTTP routes', () => {
  test('default route, query and body', async () => {
    const get = await anon('/api/hello?name=Ann');
    expect(get.status).toBe(200);
    expect(await get.text()).toBe('Hello, Ann');
    const post = await anon('/api/hello', { method: 'POST', body: 'Bob' });
    expect(await post.text()).toBe('Hello, Bob');
  });

  test('localhost works too (the host listens on 127.0.0.1 and ::1)', async () => {
    const res = await fetch(`http://localhost:${host.port}/api/hello?name=Lo`);
    expect(await res.text()).toBe('Hello, Lo');
  });

  test('literals beat parameters, constraints pick routes, literals are case-insensitive', async () => {
    expect(await getJson('/api/items/42')).toEqual({ status: 200, body: { fn: 'itemById', id: '42' } });
    expect(await getJson('/api/items/special')).toEqual({ status: 200, body: { fn: 'specialItem' } });
    expect(await getJson('/API/Items/SPECIAL')).toEqual({ status: 200, body: { fn: 'specialItem' } });
    expect(await getJson('/api/items/widget')).toEqual({
      status: 200,
      body: { fn: 'itemByName', name: 'widget' },
    });
  });

  test('guid constraint', async () => {
    const id = '0f8fad5b-d9cb-469f-a165-70867728950e';
    expect(await getJson(`/api/orders/${id}`)).toEqual({
      status: 200,
      body: { fn: 'orderById', orderId: id },
    });
    expect((await anon('/api/orders/not-a-guid')).status).toBe(404);
  });

  test('optional and catch-all parameters', async () => {
    expect((await getJson('/api/docs')).body).toEqual({ fn: 'docs', section: null });
    expect((await getJson('/api/docs/intro')).body).toEqual({ fn: 'docs', section: 'intro' });
    expect((await getJson('/api/files/a/b/c.txt')).body).toEqual({ fn: 'files', path: 'a/b/c.txt' });
    expect((await getJson('/api/files')).body).toEqual({ fn: 'files', path: null });
  });

  test('unknown routes and wrong methods are 404 with an Azure-style error body', async () => {
    const wrongMethod = await anon('/api/submit');
    expect(wrongMethod.status).toBe(404);
    expect(await wrongMethod.json()).toEqual({
      error: { code: 'HTTP.NOT_FOUND', message: 'No function matches GET /api/submit' },
    });
    expect((await anon('/api/nope')).status).toBe(404);
    expect((await anon('/hello')).status).toBe(404);
  });

  test('status, headers and JSON body from the function', async () => {
    const res = await anon('/api/submit', {
      method: 'POST',
      body: '{"a":1}',
      headers: { 'content-type': 'application/json' },
    });
    expect(res.status).toBe(201);
    expect(res.headers.get('x-test')).toBe('1');
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await res.json()).toEqual({ received: { a: 1 } });
  });

  test('the function sees method, url, params, query, lower-cased headers and the body', async () => {
    const res = await anon('/api/inspect/one/two?q=1&q=2&x=y', {
      method: 'PUT',
      body: 'payload',
      headers: { 'X-Custom-Header': 'Value' },
    });
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({
      method: 'PUT',
      url: `http://127.0.0.1:${host.port}/api/inspect/one/two?q=1&q=2&x=y`,
      params: { a: 'one', b: 'two' },
      query: { q: '1,2', x: 'y' },
      headers: expect.objectContaining({ 'x-custom-header': 'Value' }) as unknown,
      body: 'payload',
    });
    const get = (await (await anon('/api/inspect/one')).json()) as Record<string, unknown>;
    expect(get).toMatchObject({ method: 'GET', params: { a: 'one' }, body: '' });
  });

  test('cookies become Set-Cookie headers', async () => {
    const res = await anon('/api/cookies');
    expect(res.status).toBe(200);
    expect(res.headers.getSetCookie()).toEqual([
      'session=a%20b; max-age=3600; path=/; secure; samesite=strict; httponly',
      'pref=dark; expires=Tue, 01 Jan 2030 00:00:00 GMT; domain=localhost; samesite=none',
    ]);
  });

  test('a failing function is a 500 with the invocation id', async () => {
    const res = await anon('/api/boom');
    expect(res.status).toBe(500);
    const body = (await res.json()) as { error: { code: string; message: string; invocationId: string } };
    expect(body.error.code).toBe('HTTP.FUNCTION_FAILED');
    expect(body.error.message).toMatch(/Functions\.boom.*kaboom/);
    expect(host.logs()).toContain(`Executed 'Functions.boom' (Failed, Id=${body.error.invocationId}`);
  });

  test('no response is 204', async () => {
    const res = await anon('/api/nothing');
    expect(res.status).toBe(204);
    expect(await res.text()).toBe('');
  });
});

describe('auth levels and keys', () => {
  test('function level: 401 without a key or with a wrong one; the function key, master key, header or ?code=', async () => {
    expect((await anon('/api/secure/ping')).status).toBe(401);
    expect((await anon('/api/secure/ping?code=wrong')).status).toBe(401);
    expect((await anon(`/api/secure/ping?code=${encodeURIComponent(functionKey)}`)).status).toBe(200);
    expect((await anon('/api/secure/ping', { headers: { 'x-functions-key': functionKey } })).status).toBe(
      200,
    );
    expect((await anon('/api/secure/ping', { headers: { 'x-functions-key': host.masterKey } })).status).toBe(
      200,
    );
  });

  test('admin level needs the master key', async () => {
    expect((await anon('/api/secure/admin', { headers: { 'x-functions-key': functionKey } })).status).toBe(
      401,
    );
    expect((await anon(`/api/secure/admin?code=${host.masterKey}`)).status).toBe(200);
  });

  test('keys are stored where the real host stores them', async () => {
    const status = (await (await host.fetch('/admin/host/status')).json()) as { id: string };
    const blob = BlobServiceClient.fromConnectionString(azurite.connectionString)
      .getContainerClient('azure-webjobs-secrets')
      .getBlockBlobClient(`${status.id}/host.json`);
    const stored = JSON.parse((await blob.downloadToBuffer()).toString('utf8')) as Record<string, unknown>;
    expect(stored).toMatchObject({
      masterKey: { name: 'master', encrypted: false },
      functionKeys: [{ name: 'default', value: functionKey, encrypted: false }],
      systemKeys: [{ name: 'durabletask_extension', encrypted: false }],
    });
    // STRONGBOX_HOST_MASTER_KEY overrides the stored master key without replacing it.
    expect((stored.masterKey as { value: string }).value).not.toBe(host.masterKey);
    expect(host.logs()).not.toContain(functionKey);
  });
});

describe('admin API', () => {
  test('status needs the master key and lists the functions', async () => {
    expect((await anon('/admin/host/status')).status).toBe(401);
    expect((await anon('/admin/host/status', { headers: { 'x-functions-key': functionKey } })).status).toBe(
      401,
    );
    const res = await host.fetch('/admin/host/status');
    expect(res.status).toBe(200);
    const body = (await res.json()) as { state: string; version: string; functions: { name: string }[] };
    expect(body.state).toBe('Running');
    expect(body.version).toMatch(/^\d+\.\d+\.\d+$/);
    expect(body.functions.map((f) => f.name)).toEqual(
      expect.arrayContaining(['hello', 'echo', 'everyTwoSeconds']),
    );
    expect(body.functions.find((f) => f.name === 'itemById')).toMatchObject({
      trigger: 'httpTrigger',
      route: 'items/{id:int}',
      methods: ['GET'],
      authLevel: 'anonymous',
    });
  });

  test('clock: read and fast-forward', async () => {
    const before = (await (await host.fetch('/admin/host/clock')).json()) as {
      now: string;
      offsetMs: number;
    };
    expect(before.offsetMs).toBe(0);
    const res = await host.fetch('/admin/host/clock', {
      method: 'POST',
      body: JSON.stringify({ advanceMs: 5000 }),
    });
    expect(res.status).toBe(200);
    const after = (await res.json()) as { now: string; offsetMs: number };
    expect(after.offsetMs).toBe(5000);
    expect(Date.parse(after.now) - Date.parse(before.now)).toBeGreaterThanOrEqual(5000);
    expect((await host.fetch('/admin/host/clock', { method: 'POST', body: '{"advanceMs":-1}' })).status).toBe(
      400,
    );
  });

  test('the startup log lists functions like Core Tools and says where the keys are', () => {
    const logs = host.logs();
    expect(logs).toContain(`  hello: [GET,POST] http://localhost:${host.port}/api/hello`);
    expect(logs).toContain(`  itemById: [GET] http://localhost:${host.port}/api/items/{id:int}`);
    expect(logs).toContain('  echo: queueTrigger');
    expect(logs).toContain('  everyTwoSeconds: timerTrigger (disabled)');
    expect(logs).toMatch(/Host keys: master, function key 'default', system key 'durabletask_extension'/);
    expect(logs).toContain('azure-webjobs-secrets/');
  });
});
