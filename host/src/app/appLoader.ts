// Loads a v4 Node Functions app folder the way the worker does: local.settings.json Values become
// environment variables, then every file matched by package.json `main` (a path or a glob) is loaded.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { globSync } from 'tinyglobby';

export interface LocalSettings {
  values: Record<string, string>;
  host: { localHttpPort?: number; cors?: string };
}

export function readLocalSettings(appDir: string): LocalSettings {
  const file = path.join(appDir, 'local.settings.json');
  if (!fs.existsSync(file)) return { values: {}, host: {} };
  const raw = JSON.parse(fs.readFileSync(file, 'utf8')) as {
    Values?: Record<string, unknown>;
    Host?: { LocalHttpPort?: number; CORS?: string };
  };
  const values: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw.Values ?? {})) values[k] = String(v);
  return {
    values,
    host: {
      ...(raw.Host?.LocalHttpPort !== undefined ? { localHttpPort: raw.Host.LocalHttpPort } : {}),
      ...(raw.Host?.CORS !== undefined ? { cors: raw.Host.CORS } : {}),
    },
  };
}

/** Values from local.settings.json do not override variables already set, as in Core Tools. */
export function applySettingsToEnv(
  values: Record<string, string>,
  env: NodeJS.ProcessEnv = process.env,
): void {
  for (const [k, v] of Object.entries(values)) {
    if (env[k] === undefined) env[k] = v;
  }
}

export function resolveEntryFiles(appDir: string): string[] {
  const pkgFile = path.join(appDir, 'package.json');
  if (!fs.existsSync(pkgFile)) throw new Error(`No package.json in ${appDir}`);
  const pkg = JSON.parse(fs.readFileSync(pkgFile, 'utf8')) as { main?: string };
  const main = pkg.main ?? 'index.js';
  const files = /[*?{[]/.test(main)
    ? globSync(main, { cwd: appDir, absolute: true, onlyFiles: true }).sort()
    : [path.resolve(appDir, main)];
  const existing = files.filter((f) => fs.existsSync(f));
  if (existing.length === 0) {
    throw new Error(`package.json "main" (${main}) matches no file in ${appDir}. Did you build the app?`);
  }
  return existing;
}

// tsc rewrites `import()` to `require()` under CommonJS output, which cannot load ES modules, so a
// real dynamic import has to be built at run time.
// eslint-disable-next-line @typescript-eslint/no-implied-eval
const importEsm = new Function('specifier', 'return import(specifier)') as (
  specifier: string,
) => Promise<unknown>;

export async function loadEntryFiles(files: readonly string[]): Promise<void> {
  for (const file of files) {
    if (file.endsWith('.mjs')) {
      await importEsm(pathToFileURL(file).href);
      continue;
    }
    try {
      // The app's own files, through the patched require so its @azure/functions finds our core.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      require(file);
    } catch (err) {
      if ((err as { code?: string }).code !== 'ERR_REQUIRE_ESM') throw err;
      await importEsm(pathToFileURL(file).href);
    }
  }
}
