// The ARM long-running-operation contract of the HTTP edge, in process: an operation that answers
// `{status: 202, accepted: {jobId}}` becomes 202 with Location (the job), Azure-AsyncOperation (its
// operation status) and Retry-After, and polling those URLs through the real routes answers the job and
// its ARM status as the job moves on. No durable call is made, so a stub durable binding suffices.
import { HttpRequest, InvocationContext } from '@azure/functions';
import * as df from 'durable-functions';
import { ASYNC_RETRY_AFTER_SECONDS, createApiHandler } from '../../functions/api/apiHandler';
import type { ApiOperation } from '../../functions/api/apiOperation';
import { CONTROL_PLANE_OPERATIONS } from '../../functions/api/apiRoutes';
import { parseScope } from '../../shared/auth/roleAssignments';
import type { TokenVerifier } from '../../shared/auth/tokenVerifier';
import { ApiError } from '../../shared/controlPlane/apiErrors';
import { createControlPlane } from '../../shared/controlPlane/controlPlane';
import { cryptoIds, systemClock } from '../../shared/controlPlane/controlPlanePorts';
import { memStateStore } from '../../shared/state/memStateStore';

const ORIGIN = 'http://localhost:7071';

/** A bearer token is the principal's id; anything else is refused (401). */
const verifier: TokenVerifier = {
  verify: (header) => {
    const m = /^Bearer (\w+)$/.exec(header ?? '');
    if (!m?.[1]) return Promise.reject(new ApiError('AuthenticationFailed', 'no token'));
    return Promise.resolve({ id: m[1] });
  },
};

function contextWithDurableBinding(): InvocationContext {
  const input = df.input.durableClient();
  const context = new InvocationContext({ options: { extraInputs: [input] } });
  const webhook = `${ORIGIN}/runtime/webhooks/durabletask`;
  context.extraInputs.set(input, {
    taskHubName: 'hub',
    creationUrls: { createNewInstancePostUri: `${webhook}/orchestrators/{functionName}` },
    managementUrls: { id: 'INSTANCEID', statusQueryGetUri: `${webhook}/instances/INSTANCEID` },
    baseUrl: webhook,
    requiredQueryStringParameters: '',
  });
  return context;
}

function request(method: string, path: string, params: Record<string, string>): HttpRequest {
  return new HttpRequest({
    method,
    url: `${ORIGIN}/api${path}`,
    headers: { authorization: 'Bearer alice' },
    params,
  });
}

describe('202 Accepted and polling (ARM async operations)', () => {
  it('answers 202 with Location, Azure-AsyncOperation and Retry-After, and both URLs track the job', async () => {
    const cp = createControlPlane({ store: memStateStore(), clock: systemClock, ids: cryptoIds });
    await cp.roleAssignments.assign('alice', 'Backup Operator', parseScope('/subscriptions/s1'), new Date());
    await cp.vaults.put('s1', 'v1', { location: 'westeurope' });
    // A long operation as the workflows write them: start a job, answer 202 with its id.
    const backupNow: ApiOperation = {
      name: 'test-backupNow',
      method: 'POST',
      route: 'subscriptions/{subscriptionId}/vaults/{vaultName}/protectedItems/{itemName}/backup',
      action: 'protectedItems/backup',
      scope: 'vault',
      handle: async (ctx) => {
        const job = await ctx.cp.jobs.start(ctx.params.subscriptionId ?? '', ctx.params.vaultName ?? '', {
          operation: 'Backup',
          itemName: ctx.params.itemName ?? '',
        });
        return { status: 202, accepted: { jobId: job.name } };
      },
    };
    const params = { subscriptionId: 's1', vaultName: 'v1', itemName: 'vm1' };
    const accepted = await createApiHandler(backupNow, { cp, verifier })(
      request('POST', '/subscriptions/s1/vaults/v1/protectedItems/vm1/backup', params),
      contextWithDurableBinding(),
    );
    expect(accepted.status).toBe(202);
    const headers = accepted.headers as Record<string, string>;
    expect(headers['Retry-After']).toBe(String(ASYNC_RETRY_AFTER_SECONDS));
    const location = new URL(headers.Location ?? '');
    const status = new URL(headers['Azure-AsyncOperation'] ?? '');
    const jobId = /\/jobs\/([^/]+)$/.exec(location.pathname)?.[1] ?? '';
    expect(location.href).toBe(`${ORIGIN}/api/subscriptions/s1/vaults/v1/jobs/${jobId}`);
    expect(status.href).toBe(`${ORIGIN}/api/subscriptions/s1/vaults/v1/operationStatus/${jobId}`);

    // Poll both URLs through the real routes.
    const route = (name: string) => {
      const op = CONTROL_PLANE_OPERATIONS.find((o) => o.name === name);
      if (!op) throw new Error(`no route ${name}`);
      return createApiHandler(op, { cp, verifier });
    };
    const poll = async () => {
      const pollParams = { subscriptionId: 's1', vaultName: 'v1', jobId };
      const [job, op] = await Promise.all([
        route('jobs-get')(
          request('GET', location.pathname.slice(4), pollParams),
          contextWithDurableBinding(),
        ),
        route('operationStatus-get')(
          request('GET', status.pathname.slice(4), pollParams),
          contextWithDurableBinding(),
        ),
      ]);
      return {
        job: (job.jsonBody as { properties: { status: string } }).properties.status,
        op: (op.jsonBody as { status: string; error?: unknown }).status,
        error: (op.jsonBody as { error?: unknown }).error,
      };
    };
    expect(await poll()).toEqual({ job: 'InProgress', op: 'InProgress', error: undefined });
    await cp.jobs.finish('s1', 'v1', jobId, {
      status: 'Failed',
      error: { code: 'VM.NOT_FOUND', message: 'The VM no longer exists.' },
    });
    expect(await poll()).toEqual({
      job: 'Failed',
      op: 'Failed',
      error: { code: 'VM.NOT_FOUND', message: 'The VM no longer exists.' },
    });
  });
});
