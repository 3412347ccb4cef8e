import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startAzurite, type AzuriteInstance } from '../../../host/src/azurite/azuriteProcess';
import { runHostExpectingFailure, startHostProcess } from '../../support/hostProcess';

// Generated apps live in a temp folder, so they require @azure/functions by absolute path.
const FUNCTIONS_LIB = JSON.stringify(require.resolve('@azure/functions'));

let azurite: AzuriteInstance;
const tempDirs: string[] = [];

function makeApp(files: Record<string, string>, main = 'index.js'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strongbox-host-app-'));
  tempDirs.push(dir);
  fs.writeFileSync(path.join(dir, 'host.json'), JSON.stringify({ version: '2.0' }));
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'tmp-app', main }));
  for (const [name, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), text);
  }
  return dir;
}

beforeAll(async () => {
  azurite = await startAzurite();
});

afterAll(async () => {
  await azurite?.stop();
  for (const d of tempDirs) fs.rmSync(d, { recursive: true, force: true });
});

describe('host startup', () => {
  test('an unsupported trigger or binding fails startup, naming the function and the binding type', async () => {
    const dir = makeApp({
      'index.js': `
        const { app, input, output } = require(${FUNCTIONS_LIB});
        app.storageBlob('blobby', { path: 'c/{name}', connection: 'AzureWebJobsStorage', handler: async () => {} });
        app.http('tabled', {
          extraInputs: [input.table({ tableName: 't', connection: 'AzureWebJobsStorage' })],
          handler: async () => ({}),
        });
        app.http('fine', { handler: async () => ({}) });
      `,
    });
    const { code, output } = await runHostExpectingFailure({
      appDir: dir,
      connectionString: azurite.connectionString,
    });
    expect(code).toBe(1);
    expect(output).toContain("Function 'blobby': trigger type 'blobTrigger' is not supported");
    expect(output).toMatch(/Function 'tabled': input binding '\S+' of type 'table' is not supported/);
    expect(output).not.toContain("Function 'fine'");
  });

  test('a missing entry file fails with a clear message', async () => {
    const dir = makeApp({}, 'dist/functions/index.js');
    const { code, output } = await runHostExpectingFailure({
      appDir: dir,
      connectionString: azurite.connectionString,
    });
    expect(code).toBe(1);
    expect(output).toContain('HOST.APP_LOAD_FAILED');
    expect(output).toContain('dist/functions/index.js');
    expect(output).toContain('npm run build');
  });

  test('an app that registers nothing fails with a clear message', async () => {
    const dir = makeApp({ 'index.js': `require(${FUNCTIONS_LIB});` });
    const { code, output } = await runHostExpectingFailure({
      appDir: dir,
      connectionString: azurite.connectionString,
    });
    expect(code).toBe(1);
    expect(output).toContain('The app registered no functions');
  });

  test('local.settings.json values reach the app and %SETTING%, the environment wins, hooks run, SIGTERM exits 0', async () => {
    const dir = makeApp(
      {
        'src/functions/app.js': `
          const { app } = require(${FUNCTIONS_LIB});
          app.hook.appStart(() => console.log('appStart hook ran'));
          app.hook.appTerminate(() => console.log('appTerminate hook ran'));
          app.http('settings', {
            handler: async () => ({ jsonBody: { a: process.env.FROM_FILE, b: process.env.OVERRIDDEN, host: process.env.WEBSITE_HOSTNAME } }),
          });
          app.timer('scheduled', { schedule: '%MY_SCHEDULE%', handler: async () => {} });
        `,
        'local.settings.json': JSON.stringify({
          IsEncrypted: false,
          Values: { FROM_FILE: 'file', OVERRIDDEN: 'file', MY_SCHEDULE: '0 0 12 * * *' },
        }),
      },
      'src/functions/*.js',
    );
    const host = await startHostProcess({
      appDir: dir,
      connectionString: azurite.connectionString,
      env: { OVERRIDDEN: 'env' },
    });
    try {
      const res = await fetch(`${host.baseUrl}/api/settings`);
      expect(await res.json()).toEqual({ a: 'file', b: 'env', host: `127.0.0.1:${host.port}` });
      const status = (await (await host.fetch('/admin/host/status')).json()) as {
        functions: Record<string, unknown>[];
      };
      expect(status.functions.find((f) => f.name === 'scheduled')).toMatchObject({
        schedule: '0 0 12 * * *',
      });
      expect(host.logs()).toContain('appStart hook ran');
    } finally {
      expect(await host.kill('SIGTERM')).toBe(0);
    }
    expect(host.logs()).toContain('appTerminate hook ran');
  });

  test('the port must be free on 127.0.0.1', async () => {
    const dir = makeApp({
      'index.js': `require(${FUNCTIONS_LIB}).app.http('x', { handler: async () => ({}) });`,
    });
    const first = await startHostProcess({ appDir: dir, connectionString: azurite.connectionString });
    try {
      const { code, output } = await runHostExpectingFailure({
        appDir: dir,
        port: first.port,
        connectionString: azurite.connectionString,
      });
      expect(code).toBe(1);
      expect(output).toContain(`Port ${first.port} is already in use`);
    } finally {
      await first.stop();
    }
  });

  test('a SIGKILLed host restarts on the same port and storage with the same keys', async () => {
    const dir = makeApp({
      'index.js': `require(${FUNCTIONS_LIB}).app.http('x', { authLevel: 'function', handler: async () => ({ body: 'ok' }) });`,
    });
    const first = await startHostProcess({ appDir: dir, connectionString: azurite.connectionString });
    const stored = await runKeys(dir);
    expect(await first.kill('SIGKILL')).toBeNull();
    const second = await startHostProcess({
      appDir: dir,
      port: first.port,
      connectionString: azurite.connectionString,
    });
    try {
      const res = await fetch(`${second.baseUrl}/api/x?code=${encodeURIComponent(stored)}`);
      expect(res.status).toBe(200);
    } finally {
      await second.stop();
    }
  });
});

/** The stored default function key, read the way a developer would. */
async function runKeys(appDir: string): Promise<string> {
  const { execFile } = await import('node:child_process');
  const { promisify } = await import('node:util');
  const { HOST_CLI } = await import('../../support/hostProcess');
  const { stdout } = await promisify(execFile)(process.execPath, [HOST_CLI, 'keys', appDir], {
    env: { ...process.env, AzureWebJobsStorage: azurite.connectionString },
  });
  return (JSON.parse(stdout) as { functionKeys: { default: string } }).functionKeys.default;
}
