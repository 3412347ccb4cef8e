// `npm run token -- --principal <id> --role <role> --scope <scope>`: prints a bearer token the LOCAL
// service accepts and, unless --no-assign, records the role assignment in the role-assignment table
// first (idempotent), so the token works at once. Local only: with a JWKS configured (Azure) tokens come
// from Entra ID, and this refuses.
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../config/config';
import { azureTableStateStore } from '../state/azureTableStateStore';
import type { StateStore } from '../state/stateStore';
import {
  DEFAULT_TOKEN_LIFETIME_SECONDS,
  loadOrCreateLocalSigningKey,
  mintLocalToken,
} from './localSigningKey';
import { checkPrincipalId, parseScope, roleAssignmentStore } from './roleAssignments';
import { ROLES, isRole } from './roles';

export const TOKEN_USAGE = `Usage: npm run token -- --principal <id> --role <role> --scope <scope> [--no-assign] [--expires-in <seconds>]

  --principal   the caller's id (becomes the token's oid and sub), e.g. alice
  --role        one of: ${ROLES.map((r) => `"${r}"`).join(', ')}
  --scope       /subscriptions/<sub> or /subscriptions/<sub>/vaults/<vault>
  --no-assign   only print a token; do not create the role assignment
  --expires-in  token lifetime in seconds (default ${DEFAULT_TOKEN_LIFETIME_SECONDS})

Prints the token alone on stdout, so: TOKEN=$(npm run -s token -- --principal alice --role Owner --scope /subscriptions/dev)`;

export interface TokenCliIo {
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Folder a relative STRONGBOX_LOCAL_AUTH_DIR is resolved against (the app root). */
  readonly appRoot: string;
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  /** Test hook: the store to record assignments in (default: the configured Azure Tables account). */
  readonly store?: StateStore;
  readonly now?: () => Date;
}

/** Returns the process exit code. */
export async function runTokenCli(argv: readonly string[], io: TokenCliIo): Promise<number> {
  let values: {
    principal?: string;
    role?: string;
    scope?: string;
    'no-assign'?: boolean;
    'expires-in'?: string;
    help?: boolean;
  };
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        principal: { type: 'string' },
        role: { type: 'string' },
        scope: { type: 'string' },
        'no-assign': { type: 'boolean' },
        'expires-in': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }));
  } catch (err) {
    io.stderr(`${(err as Error).message}\n\n${TOKEN_USAGE}\n`);
    return 2;
  }
  if (values.help) {
    io.stdout(`${TOKEN_USAGE}\n`);
    return 0;
  }
  const { principal, role, scope } = values;
  if (principal === undefined || role === undefined || scope === undefined) {
    io.stderr(`--principal, --role and --scope are required.\n\n${TOKEN_USAGE}\n`);
    return 2;
  }
  if (!isRole(role)) {
    io.stderr(`--role must be one of ${ROLES.map((r) => `"${r}"`).join(', ')}\n`);
    return 2;
  }
  const expiresIn =
    values['expires-in'] === undefined ? DEFAULT_TOKEN_LIFETIME_SECONDS : Number(values['expires-in']);
  if (!Number.isInteger(expiresIn) || expiresIn < 1 || expiresIn > 86_400) {
    io.stderr('--expires-in must be a whole number of seconds from 1 to 86400\n');
    return 2;
  }
  try {
    checkPrincipalId(principal);
    const parsedScope = parseScope(scope);
    const config = loadConfig(io.env);
    const v = config.tokenValidation;
    if (v.kind !== 'localKey') {
      io.stderr(
        'STRONGBOX_AUTH_JWKS_URI is set, so the service only accepts Entra ID tokens; get one with\n' +
          `  az account get-access-token --resource ${v.audience}\n`,
      );
      return 1;
    }
    const now = io.now?.() ?? new Date();
    if (values['no-assign'] !== true) {
      const store = io.store ?? azureTableStateStore(config.storage);
      await roleAssignmentStore(store).assign(principal, role, parsedScope, now);
      io.stderr(`Assigned "${role}" to ${principal} at ${scope}.\n`);
    }
    const key = await loadOrCreateLocalSigningKey(path.resolve(io.appRoot, v.dir));
    const token = await mintLocalToken(key, {
      principalId: principal,
      issuer: v.issuer,
      audience: v.audience,
      expiresInSeconds: expiresIn,
      now,
    });
    io.stdout(`${token}\n`);
    return 0;
  } catch (err) {
    io.stderr(`${(err as Error).message}\n`);
    return 1;
  }
}
