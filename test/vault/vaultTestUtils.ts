// Helpers for the vault tests: seeded images and trees, store factories, and the checker that
// every mutating test ends with (restic style).
import { createCipheriv, createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { readFile, writeFile, readdir, lstat, readlink } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import type { BlobStore } from '../../shared/blob/blobStore';
import { LocalDirBlobStore } from '../../shared/blob/localDirBlobStore';
import { MemBlobStore } from '../../shared/blob/memBlobStore';
import { seededRandom } from '../../shared/blob/seededRandom';
import { createVault, type CreateVaultOptions } from '../../shared/vault/createVault';
import { localKeyFileProvider } from '../../shared/vault/localKeyFileProvider';
import type { KeyProvider } from '../../shared/vault/keyProvider';
import type { Vault } from '../../shared/vault/vault';
import { verify } from '../../shared/vault/verify';

export const KIB = 1024;
export const MIB = 1024 * KIB;
export const BLOCK = 64 * KIB;

const tempDirs: string[] = [];

/** A fresh temp directory, removed after all tests of the file. */
export function tempDir(label = 'vault'): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), `sb-${label}-`));
  tempDirs.push(dir);
  return dir;
}

afterAll(() => {
  for (const d of tempDirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** `length` pseudo-random (incompressible) bytes from `seed`. */
export function randomBytesSeeded(length: number, seed: number | string): Buffer {
  const key = createHash('sha256').update(`strongbox-vault-test-${seed}`).digest();
  return createCipheriv('aes-256-ctr', key, Buffer.alloc(16)).update(Buffer.alloc(length));
}

const WORDS =
  'backup vault block pack index manifest point restore verify storage azure function key data error ok'.split(
    ' ',
  );

/** Log-like text that compresses about 2.5–3x. */
export function textBytes(length: number, seed: number): Buffer {
  const rnd = seededRandom(seed);
  let s = '';
  while (s.length < length) {
    const w = Array.from(
      { length: 3 + Math.floor(rnd() * 8) },
      () => WORDS[Math.floor(rnd() * WORDS.length)],
    );
    s += `2024-05-0${1 + Math.floor(rnd() * 9)}T12:${String(Math.floor(rnd() * 60)).padStart(2, '0')} INFO req=${Math.floor(rnd() * 1e6).toString(16)} ${w.join(' ')}\n`;
  }
  return Buffer.from(s.slice(0, length), 'latin1');
}

/**
 * The benchmark data shape at small scale: units of `unit` bytes, 50% random, 30% text, 20% zeros,
 * chosen by a seeded PRNG.
 */
export function mixedImage(size: number, seed: number, unit = 256 * KIB): Buffer {
  const rnd = seededRandom(seed);
  const out = Buffer.alloc(size);
  for (let at = 0, k = 0; at < size; at += unit, k += 1) {
    const n = Math.min(unit, size - at);
    const r = rnd();
    if (r < 0.5) randomBytesSeeded(n, `${seed}-${k}`).copy(out, at);
    else if (r < 0.8) textBytes(n, seed * 1000 + k).copy(out, at);
  }
  return out;
}

export interface StoreFactory {
  name: string;
  make: () => BlobStore;
}

export const STORES: StoreFactory[] = [
  { name: 'mem', make: () => new MemBlobStore() },
  { name: 'localDir', make: () => new LocalDirBlobStore(tempDir('store')) },
];

export function testKeyProvider(): KeyProvider {
  return localKeyFileProvider(path.join(tempDir('kek'), 'kek.bin'));
}

export async function newVault(
  store: BlobStore = new MemBlobStore(),
  opts: CreateVaultOptions = {},
  provider: KeyProvider = testKeyProvider(),
): Promise<{ vault: Vault; provider: KeyProvider; store: BlobStore }> {
  const vault = await createVault(store, provider, opts);
  return { vault, provider, store };
}

/** The checker: run after every mutating test. Reads all data; fails with the report. */
export async function expectVerifies(vault: Vault): Promise<void> {
  const report = await verify(vault, { readData: true, seed: 1 });
  if (!report.ok) throw new Error(`verify found damage: ${JSON.stringify(report, null, 2)}`);
}

/** Rethrows a failure with the seed in its message, so the run can be replayed. */
export async function withSeed<T>(seed: number, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (err instanceof Error) err.message = `[seed ${seed}] ${err.message}`;
    throw err;
  }
}

export async function expectSameFile(actualPath: string, expected: Buffer): Promise<void> {
  const actual = await readFile(actualPath);
  if (actual.equals(expected)) return;
  let at = 0;
  while (at < Math.min(actual.length, expected.length) && actual[at] === expected[at]) at += 1;
  throw new Error(
    `${actualPath}: ${actual.length} bytes vs expected ${expected.length}; first difference at ${at}`,
  );
}

export async function writeImage(dir: string, name: string, data: Buffer): Promise<string> {
  const p = path.join(dir, name);
  await writeFile(p, data);
  return p;
}

export interface TreeSnapshot {
  [rel: string]: {
    type: string;
    mode?: number;
    mtimeMs?: number;
    size?: number;
    sha?: string;
    target?: string;
  };
}

/** Everything that a tree round trip must preserve, keyed by relative path. */
export async function snapshotTree(root: string): Promise<TreeSnapshot> {
  const out: TreeSnapshot = {};
  const walk = async (abs: string, rel: string): Promise<void> => {
    for (const name of (await readdir(abs)).sort()) {
      const childAbs = path.join(abs, name);
      const childRel = rel ? `${rel}/${name}` : name;
      const st = await lstat(childAbs);
      const mtimeMs = Math.floor(st.mtimeMs);
      if (st.isSymbolicLink()) out[childRel] = { type: 'symlink', target: await readlink(childAbs), mtimeMs };
      else if (st.isDirectory()) {
        out[childRel] = { type: 'dir', mode: st.mode & 0o7777, mtimeMs };
        await walk(childAbs, childRel);
      } else {
        const data = await readFile(childAbs);
        out[childRel] = {
          type: 'file',
          mode: st.mode & 0o7777,
          mtimeMs,
          size: st.size,
          sha: createHash('sha256').update(data).digest('hex'),
        };
      }
    }
  };
  await walk(root, '');
  return out;
}

/** Every file under `dir` (relative paths), for "nothing written outside" and "no temp left" checks. */
export async function listAll(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (abs: string, rel: string): Promise<void> => {
    for (const name of await readdir(abs)) {
      const childRel = rel ? `${rel}/${name}` : name;
      out.push(childRel);
      const st = await lstat(path.join(abs, name));
      if (st.isDirectory()) await walk(path.join(abs, name), childRel);
    }
  };
  await walk(dir, '');
  return out.sort();
}
