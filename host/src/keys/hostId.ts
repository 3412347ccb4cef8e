// The host id names this app's folders in storage (secrets, timer status). Like the real host off
// App Service, it is the machine name plus a stable hash of the app path, lower-cased, at most 32
// characters; `AzureFunctionsWebHost__hostid` overrides it.
import { createHash } from 'node:crypto';

/** Azure: host ids are limited to 32 characters (HostIdValidator). */
export const MAX_HOST_ID_LENGTH = 32;

export function computeHostId(machineName: string, appDir: string, override?: string): string {
  if (override) return sanitize(override);
  const hash = createHash('sha256').update(appDir).digest('hex').slice(0, 8);
  const name = sanitize(machineName).slice(0, MAX_HOST_ID_LENGTH - hash.length - 1);
  return sanitize(`${name || 'host'}-${hash}`);
}

function sanitize(value: string): string {
  return value
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, '')
    .slice(0, MAX_HOST_ID_LENGTH)
    .replace(/^-+|-+$/g, '');
}
