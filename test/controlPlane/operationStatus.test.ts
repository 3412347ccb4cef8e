// The ARM async-operation view of a job (shared/controlPlane/operationStatus.ts): each job status maps to
// ARM's InProgress / Succeeded / Failed / Canceled, a failed job carries its error, and the id is the
// Azure-AsyncOperation URL's path. Jobs are driven through jobService, as the workflows drive them.
import { createControlPlane } from '../../shared/controlPlane/controlPlane';
import { uuidV7, type IdSource } from '../../shared/controlPlane/controlPlanePorts';
import { jobResourceOf, JOB_STATUSES, type JobDoc } from '../../shared/controlPlane/jobService';
import { operationStatusOf } from '../../shared/controlPlane/operationStatus';
import { memStateStore } from '../../shared/state/memStateStore';

let now = new Date('2024-05-01T12:00:00.000Z');
let seq = 0;
const ids: IdSource = {
  timeOrdered: (at) => uuidV7(at, Buffer.from(String(++seq).padStart(10, '0'))),
  vaultId: () => (++seq).toString(16).padStart(32, '0'),
};

describe('operationStatusOf', () => {
  it('maps every job status, and only terminal ones to a terminal state', () => {
    // ARM's terminal states; every other job status (InProgress, Queued, ...) is still InProgress.
    const terminal: Readonly<Record<string, string>> = {
      Completed: 'Succeeded',
      Failed: 'Failed',
      Cancelled: 'Canceled',
    };
    expect(JOB_STATUSES).toEqual(expect.arrayContaining(['InProgress', ...Object.keys(terminal)]));
    for (const status of JOB_STATUSES) {
      const doc: JobDoc = {
        jobId: 'j1',
        vaultName: 'v1',
        subscriptionId: 's',
        operation: 'Backup',
        status,
        startTime: '2024-05-01T12:00:00.000Z',
        bytesTransferred: 0,
        progressPercent: 40,
      };
      expect(operationStatusOf(jobResourceOf(doc, 'e')).status).toBe(terminal[status] ?? 'InProgress');
    }
  });

  it('treats a status it does not know as InProgress, never as finished', () => {
    const doc = {
      jobId: 'j1',
      vaultName: 'v1',
      subscriptionId: 's',
      operation: 'Backup',
      status: 'Paused',
      startTime: '2024-05-01T12:00:00.000Z',
      bytesTransferred: 0,
      progressPercent: 0,
    } as unknown as JobDoc;
    expect(operationStatusOf(jobResourceOf(doc, 'e')).status).toBe('InProgress');
  });

  it('follows a job through the services: in progress, then failed with its error, or completed, or cancelled', async () => {
    const cp = createControlPlane({ store: memStateStore(), clock: { now: () => now }, ids });
    await cp.vaults.put('s', 'v1', { location: 'westeurope' });
    now = new Date('2024-05-01T12:00:00.000Z');
    const failing = await cp.jobs.start('s', 'v1', { operation: 'Backup', itemName: 'vm1' });
    await cp.jobs.progress('s', 'v1', failing.name, { progressPercent: 35 });
    const running = operationStatusOf(await cp.jobs.get('s', 'v1', failing.name));
    expect(running).toEqual({
      id: `/subscriptions/s/vaults/v1/operationStatus/${failing.name}`,
      name: failing.name,
      status: 'InProgress',
      startTime: '2024-05-01T12:00:00.000Z',
      percentComplete: 35,
    });
    now = new Date('2024-05-01T12:05:00.000Z');
    await cp.jobs.finish('s', 'v1', failing.name, {
      status: 'Failed',
      error: { code: 'VM.SNAPSHOT_FAILED', message: 'The snapshot of disk 0 failed.' },
    });
    expect(operationStatusOf(await cp.jobs.get('s', 'v1', failing.name))).toEqual({
      ...running,
      status: 'Failed',
      endTime: '2024-05-01T12:05:00.000Z',
      error: { code: 'VM.SNAPSHOT_FAILED', message: 'The snapshot of disk 0 failed.' },
    });
    const ok = await cp.jobs.start('s', 'v1', { operation: 'Restore' });
    await cp.jobs.finish('s', 'v1', ok.name, { status: 'Completed' });
    expect(operationStatusOf(await cp.jobs.get('s', 'v1', ok.name))).toMatchObject({
      status: 'Succeeded',
      percentComplete: 100,
      endTime: '2024-05-01T12:05:00.000Z',
    });
    expect(operationStatusOf(await cp.jobs.get('s', 'v1', ok.name)).error).toBeUndefined();
    const stopped = await cp.jobs.start('s', 'v1', { operation: 'Backup' });
    await cp.jobs.finish('s', 'v1', stopped.name, { status: 'Cancelled' });
    expect(operationStatusOf(await cp.jobs.get('s', 'v1', stopped.name)).status).toBe('Canceled');
  });
});
