// Every role x every VM operation (VM_OPERATIONS), over HTTP on the local host: a role that lacks the
// operation's action gets 403 and a caller with no role at the subscription (or a role only in another
// subscription) gets 404, never a 2xx. Allowed callers get past authorization: the probes are built so
// that they then fail validation (400) or find nothing (404 ProtectedItemNotFound), or read (200), so
// the matrix starts no workflow. The control-plane matrix (test/controlPlane) covers its own routes.
import { authorize, ROLES, type Role } from '../../shared/auth/roles';
import { VM_OPERATIONS } from '../../functions/vm/vmRoutes';
import { startVmTestEnv, type VmTestEnv } from './vmTestEnv';

const SUB = 'sub-auth';
const OTHER = 'sub-other';
const VAULT = 'authvault';

let env: VmTestEnv;

const principalOf = (role: Role) => role.toLowerCase().replace(/ /g, '-');

beforeAll(async () => {
  env = await startVmTestEnv();
  for (const role of ROLES) await env.grant(principalOf(role), role, `/subscriptions/${SUB}`);
  await env.grant('owner', 'Owner', `/subscriptions/${SUB}`);
  await env.grant('outsider', 'Owner', `/subscriptions/${OTHER}`);
  expect(
    (await env.api('PUT', `/subscriptions/${SUB}/vaults/${VAULT}`, { body: { location: 'local' } })).status,
  ).toBe(201);
}, 120_000);

afterAll(async () => {
  await env?.stop();
});

/** A request per operation that passes authorization and then changes nothing. */
function probe(route: string, method: string): { path: string; body?: unknown } {
  const path = `/${route}`
    .replace('{subscriptionId}', SUB)
    .replace('{vaultName}', VAULT)
    .replace('{itemName}', 'no-such-item')
    .replace('{recoveryPointId}', 'no-such-point')
    .replace('{jobId}', 'no-such-job');
  return method === 'POST' ? { path, body: { notAField: 1 } } : { path };
}

const callers: { principal: string; role?: Role }[] = [
  ...ROLES.map((role) => ({ principal: principalOf(role), role })),
  { principal: 'nobody' },
  { principal: 'outsider' },
];

it('answers every role x VM operation as the role table says, with no unexpected 2xx', async () => {
  const unexpected: string[] = [];
  let calls = 0;
  for (const op of VM_OPERATIONS) {
    const { path, body } = probe(op.route, op.method);
    for (const c of callers) {
      const r = await env.api(op.method, path, {
        token: await env.token(c.principal),
        ...(body ? { body } : {}),
      });
      calls++;
      const label = `${c.principal} ${op.name}: ${r.status} ${r.body.error?.code ?? ''}`;
      if (c.role === undefined) {
        // No role here: the subscription's resources are not even confirmed to exist.
        if (r.status !== 404) unexpected.push(label);
      } else if (!authorize(c.role, op.action)) {
        if (r.status !== 403 || r.body.error?.code !== 'AuthorizationFailed') unexpected.push(label);
      } else if (!(
        r.status === 200 ||
        (r.status === 400 && r.body.error?.code === 'InvalidRequestBody') ||
        (r.status === 404 &&
          ['ProtectedItemNotFound', 'RecoveryPointNotFound', 'JobNotFound'].includes(
            r.body.error?.code ?? '',
          ))
      )) {
        unexpected.push(label);
      }
    }
  }
  expect(calls).toBe(VM_OPERATIONS.length * callers.length);
  expect(unexpected).toEqual([]);
  // The destructive action is the one Backup Operator may not do.
  expect(authorize('Backup Operator', 'protectedItems/deleteBackupData')).toBe(false);
  expect(authorize('Backup Operator', 'protectedItems/stopProtection')).toBe(true);
}, 120_000);
