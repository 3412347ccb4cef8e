// A per-key writer lock shared by every process using the same root: a lock file created with
// O_EXCL ('wx'), which the file system grants to exactly one creator. Holders keep it for the few
// milliseconds of check-then-rename, so one older than LOCK_STALE_MS was left by a crashed process.
import { mkdir, open, rename, stat, unlink } from 'node:fs/promises';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { BlobTransientError } from './blobErrors';
import { errnoOf } from './localFsErrors';

/** A lock this old is presumed abandoned. Far above any hold time (a rename and a few stats). */
export const LOCK_STALE_MS = 30_000;
/** Give up waiting after this long; the caller sees TRANSIENT and may retry. */
export const LOCK_WAIT_MS = 10_000;
const LOCK_POLL_MAX_MS = 25;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export async function withKeyLock<T>(lockPath: string, key: string, fn: () => Promise<T>): Promise<T> {
  await mkdir(path.dirname(lockPath), { recursive: true });
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (let attempt = 0; ; attempt += 1) {
    try {
      const handle = await open(lockPath, 'wx');
      await handle.writeFile(`${process.pid} ${new Date().toISOString()}\n`).finally(() => handle.close());
      break;
    } catch (err) {
      if (errnoOf(err) !== 'EEXIST') throw err;
    }
    await breakIfStale(lockPath);
    if (Date.now() > deadline) throw new BlobTransientError(`key is locked by another writer`, key);
    await sleep(Math.min(LOCK_POLL_MAX_MS, 2 ** attempt) * (0.5 + Math.random()));
  }
  try {
    return await fn();
  } finally {
    await unlink(lockPath).catch(() => undefined);
  }
}

async function breakIfStale(lockPath: string): Promise<void> {
  const st = await stat(lockPath).catch(() => undefined);
  if (!st || Date.now() - st.mtimeMs < LOCK_STALE_MS) return;
  // Move it aside first so that two breakers cannot both delete it. A narrow race remains, as with
  // any lock file: a new holder's lock created between our stat and rename is moved too. It needs a
  // crashed holder first, and its cost is one lost-update window, not a torn object.
  const aside = `${lockPath}.${randomBytes(6).toString('hex')}.stale`;
  try {
    await rename(lockPath, aside);
  } catch {
    return;
  }
  await unlink(aside).catch(() => undefined);
}
