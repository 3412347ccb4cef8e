// The VM orchestrators' decisions, without a host: a scripted context answers every activity, entity
// call, event and timer, and the tests assert the exact durable steps scheduled, scenario by scenario
// (STYLE.md §8: orchestrators tested by replay, fixtures named for scenarios).
import { backupVmOrchestrator } from '../../functions/vm/backupVm.orchestrator';
import { ACTIVITIES, ITEM_QUEUE_ENTITY, ITEM_TURN_EVENT, ORCHESTRATORS } from '../../functions/vm/names';
import { VM_ORCHESTRATIONS } from '../../functions/vm/registerVmFunctions';
import { VM_ACTIVITIES } from '../../functions/vm/workflow.activity';
import { registerVmOrchestrator } from '../../functions/vm/registerVm.orchestrator';
import { restoreVmOrchestrator } from '../../functions/vm/restoreVm.orchestrator';
import { vmRetentionOrchestrator } from '../../functions/vm/vmRetention.orchestrator';
import { ok, fail } from '../../shared/vm/vmErrors';
import { COPY_DEADLINE_MS, QUEUE_RECHECK_MS } from '../../shared/vm/vmLimits';
import type { BackupInput, RestoreInput } from '../../shared/vm/vmWorkflowTypes';
import { drive, fakeContext, names, type FakeTask } from './fakeOrchestration';

const Q = ITEM_QUEUE_ENTITY;
const input: BackupInput = { sub: 's', vault: 'v', item: 'web01', jobId: 'job-1', trigger: 'adhoc' };
const disk = {
  diskId: 'web01-osdisk-1',
  name: 'web01-osdisk',
  role: 'os',
  lun: undefined,
  sizeBytes: 64 << 20,
};
const prepared = ok({
  source: {
    vmId: '/vms/web01',
    vmName: 'web01',
    osType: 'linux',
    region: 'local',
    powerState: 'running',
    disks: [disk],
  },
  parent: {
    recoveryPointId: 'rp-0',
    snapshotSet: { setId: 'old', vmId: '/vms/web01', takenAt: '', disks: [] },
    disks: [],
  },
});
const taken = ok({
  set: { setId: 'new', vmId: '/vms/web01', takenAt: '', disks: [] },
  consistency: 'ApplicationConsistent',
  takenAt: '2030-01-01T00:00:00.000Z',
});
const plannedDisks = (segments: number) =>
  ok([
    {
      disk,
      snapshot: { diskId: disk.diskId, snapshotId: 'x', sizeBytes: disk.sizeBytes, takenAt: '' },
      plan: {
        planId: 'job-1:disk0',
        diskName: disk.name,
        sizeBytes: disk.sizeBytes,
        full: false,
        segments: Array.from({ length: segments }, (_, index) => ({ index, ranges: [], bytes: 1000 })),
      },
      rangesFrom: 'changeTracking',
    },
  ]);
const committed = ok({
  recoveryPointId: 'rp-1',
  recoveryPointType: 'Incremental',
  bytesNewStored: 5000,
  bytesRead: 8000,
  sizeBytes: disk.sizeBytes,
});

/** Answers a backup's tasks: the item is free, everything succeeds (override per scenario). */
function backupAnswers(over: Partial<Record<string, unknown>> = {}) {
  return (t: FakeTask): unknown => {
    if (t.kind === 'entity') {
      if (t.op === 'enqueue') return { position: 0, head: t.input };
      if (t.op === 'release') return { next: null };
    }
    if (t.kind === 'all') return t.tasks.map(() => ok({ bytesRead: 2000, bytesNewStored: 1000 }));
    if (t.kind !== 'activity') throw new Error(`unexpected ${t.kind}`);
    if (t.name in over) return over[t.name];
    switch (t.name) {
      case ACTIVITIES.backupPrepare:
        return prepared;
      case ACTIVITIES.backupSnapshot:
        return taken;
      case ACTIVITIES.backupPlan:
        return plannedDisks(6);
      case ACTIVITIES.backupCommit:
        return committed;
      default:
        return undefined;
    }
  };
}

describe('backup orchestration', () => {
  it('happy path: job, turn, snapshot, plan, segments in batches of 4, commit, release the OLD snapshot, turn back', () => {
    const { context } = fakeContext(input);
    const run = drive(backupVmOrchestrator(context), backupAnswers());
    expect(names(run.tasks)).toEqual([
      ACTIVITIES.jobEnsure,
      `${Q}.enqueue`,
      ACTIVITIES.jobRunning,
      ACTIVITIES.backupPrepare,
      ACTIVITIES.jobProgress,
      ACTIVITIES.backupSnapshot,
      ACTIVITIES.backupPlan,
      ACTIVITIES.jobProgress,
      `all(${Array(4).fill(ACTIVITIES.backupSegment).join(',')})`,
      ACTIVITIES.jobProgress,
      `all(${Array(2).fill(ACTIVITIES.backupSegment).join(',')})`,
      ACTIVITIES.jobProgress,
      ACTIVITIES.backupCommit,
      ACTIVITIES.releaseSnapshots,
      ACTIVITIES.jobFinish,
      `${Q}.release`,
    ]);
    // The snapshot is retried like the rest: its set is named after the job, so a retry replaces
    // what an earlier attempt took instead of leaking it.
    const snap = run.tasks.find((t) => t.kind === 'activity' && t.name === ACTIVITIES.backupSnapshot);
    expect(snap).toMatchObject({ retry: true, input: { setId: 'job-1' } });
    // The snapshot released after the commit is the parent's, never the new one.
    const release = run.tasks.find((t) => t.kind === 'activity' && t.name === ACTIVITIES.releaseSnapshots);
    expect(release).toMatchObject({ input: { setId: 'old' } });
    const finish = run.tasks.find((t) => t.kind === 'activity' && t.name === ACTIVITIES.jobFinish);
    expect(finish).toMatchObject({
      input: { status: 'Completed', bytesTransferred: 5000, extendedInfo: { recoveryPointId: 'rp-1' } },
    });
    expect(run.result).toMatchObject({ ok: true });
  });

  it('queued: waits for the turn event (re-checking on a timer), notes what it waits behind, then runs', () => {
    const { context, clock } = fakeContext(input);
    let enqueues = 0;
    const base = backupAnswers();
    const run = drive(backupVmOrchestrator(context), (t) => {
      if (t.kind === 'entity' && t.op === 'enqueue') {
        enqueues++;
        const head = { instanceId: 'other', operation: 'Backup', jobId: 'job-0', since: '' };
        // Behind job-0 until the turn event has come.
        return enqueues < 3 ? { position: 1, head } : { position: 0, head: t.input };
      }
      if (t.kind === 'any') {
        const [event, timer] = t.tasks;
        if (enqueues === 1) {
          clock.now = new Date(clock.now.getTime() + QUEUE_RECHECK_MS);
          return timer; // the holder is checked...
        }
        return event; // ...and later the turn event arrives
      }
      if (t.kind === 'activity' && t.name === ACTIVITIES.instanceFinished) return false;
      return base(t);
    });
    const seq = names(run.tasks);
    expect(seq.slice(0, 10)).toEqual([
      ACTIVITIES.jobEnsure,
      `${Q}.enqueue`,
      ACTIVITIES.jobProgress,
      `any(event:${ITEM_TURN_EVENT},timer)`,
      ACTIVITIES.instanceFinished,
      `${Q}.enqueue`,
      // still queued: was the job cancelled meanwhile? (no)
      ACTIVITIES.jobCancelRequested,
      `any(event:${ITEM_TURN_EVENT},timer)`,
      `${Q}.enqueue`,
      ACTIVITIES.jobRunning,
    ]);
    expect(run.tasks[2]).toMatchObject({ input: { extendedInfo: { queuedBehindJobId: 'job-0' } } });
    expect(run.result).toMatchObject({ ok: true });
  });

  it('a dead holder is released and the next one woken', () => {
    const { context } = fakeContext(input);
    let enqueues = 0;
    const base = backupAnswers();
    const run = drive(backupVmOrchestrator(context), (t) => {
      if (t.kind === 'entity' && t.op === 'enqueue') {
        enqueues++;
        const head = { instanceId: 'dead', operation: 'Backup', since: '' };
        return enqueues === 1 ? { position: 1, head } : { position: 0, head: t.input };
      }
      if (
        t.kind === 'entity' &&
        t.op === 'release' &&
        (t.input as { instanceId: string }).instanceId === 'dead'
      )
        return { next: { instanceId: 'instance-1', operation: 'Backup', since: '' } };
      if (t.kind === 'any') return t.tasks[1]; // the recheck timer
      if (t.kind === 'activity' && t.name === ACTIVITIES.instanceFinished) return true;
      return base(t);
    });
    expect(names(run.tasks).slice(0, 7)).toEqual([
      ACTIVITIES.jobEnsure,
      `${Q}.enqueue`,
      ACTIVITIES.jobProgress,
      `any(event:${ITEM_TURN_EVENT},timer)`,
      ACTIVITIES.instanceFinished,
      `${Q}.release`,
      `${Q}.enqueue`,
    ]);
    expect(run.result).toMatchObject({ ok: true });
  });

  it('a failed snapshot fails the job with its code, marks the item, and still gives the turn back', () => {
    const { context } = fakeContext(input);
    const run = drive(
      backupVmOrchestrator(context),
      backupAnswers({ [ACTIVITIES.backupSnapshot]: fail('SnapshotTimedOut', 'the agent did not answer') }),
    );
    expect(names(run.tasks).slice(-4)).toEqual([
      ACTIVITIES.backupSnapshot,
      ACTIVITIES.markItemFailed,
      ACTIVITIES.jobFinish,
      `${Q}.release`,
    ]);
    const finish = run.tasks.at(-2);
    expect(finish).toMatchObject({ input: { status: 'Failed', error: { code: 'SnapshotTimedOut' } } });
    expect((finish as { input: { error: { message: string } } }).input.error.message).toMatch(/agent/);
  });

  it('past the copy deadline: CopyTimedOut, the NEW snapshot released, the plans left to garbage collection', () => {
    const { context, clock } = fakeContext(input);
    const base = backupAnswers();
    const run = drive(backupVmOrchestrator(context), (t) => {
      if (t.kind === 'all') clock.now = new Date(clock.now.getTime() + COPY_DEADLINE_MS + 1);
      return base(t);
    });
    const seq = names(run.tasks);
    expect(seq).not.toContain(ACTIVITIES.backupCommit);
    expect(seq.slice(-5)).toEqual([
      ACTIVITIES.releaseSnapshots,
      ACTIVITIES.backupAbandon,
      ACTIVITIES.markItemFailed,
      ACTIVITIES.jobFinish,
      `${Q}.release`,
    ]);
    expect(run.tasks.at(-5)).toMatchObject({ input: { setId: 'new' } });
    expect(run.tasks.at(-2)).toMatchObject({ input: { status: 'Failed', error: { code: 'CopyTimedOut' } } });
  });

  it('an activity that keeps failing becomes InternalError with its first line; the turn is given back', () => {
    const { context } = fakeContext(input);
    const run = drive(
      backupVmOrchestrator(context),
      backupAnswers({
        [ACTIVITIES.backupPlan]: {
          throws: new Error("Activity function 'vmBackupPlan' failed: boom\n at stack"),
        },
      }),
    );
    expect(run.tasks.at(-2)).toMatchObject({
      input: { status: 'Failed', error: { code: 'InternalError' } },
    });
    expect(JSON.stringify(run.tasks.at(-2))).not.toContain('at stack');
    expect(names(run.tasks).at(-1)).toBe(`${Q}.release`);
  });
});

/** What the job activities answer once a cancel has been requested. */
const CANCEL = { cancelRequested: true };

describe('cancelling a job', () => {
  it('a backup cancelled between batches stops there: no commit, the NEW snapshot released, the item not marked failed', () => {
    const { context } = fakeContext(input);
    const base = backupAnswers();
    let progress = 0;
    const run = drive(backupVmOrchestrator(context), (t) => {
      // Progress calls: snapshot phase, transfer start, after batch 1 <- cancel seen here.
      if (t.kind === 'activity' && t.name === ACTIVITIES.jobProgress)
        return ++progress === 3 ? CANCEL : undefined;
      return base(t);
    });
    const seq = names(run.tasks);
    expect(seq).not.toContain(ACTIVITIES.backupCommit);
    expect(seq).not.toContain(ACTIVITIES.markItemFailed);
    expect(seq.filter((n) => n.startsWith('all('))).toHaveLength(1); // the second batch never ran
    expect(seq.slice(-4)).toEqual([
      ACTIVITIES.releaseSnapshots,
      ACTIVITIES.backupAbandon,
      ACTIVITIES.jobFinish,
      `${Q}.release`,
    ]);
    expect(run.tasks.at(-4)).toMatchObject({ input: { setId: 'new' } });
    expect(run.tasks.at(-2)).toMatchObject({ input: { status: 'Cancelled' } });
    expect(run.result).toMatchObject({ ok: false, cancelled: true });
  });

  it('cancelled before it ran: nothing is prepared or snapshotted, the turn is given back', () => {
    const { context } = fakeContext(input);
    const run = drive(backupVmOrchestrator(context), backupAnswers({ [ACTIVITIES.jobRunning]: CANCEL }));
    expect(names(run.tasks)).toEqual([
      ACTIVITIES.jobEnsure,
      `${Q}.enqueue`,
      ACTIVITIES.jobRunning,
      ACTIVITIES.jobFinish,
      `${Q}.release`,
    ]);
    expect(run.tasks.at(-2)).toMatchObject({ input: { status: 'Cancelled' } });
  });

  it('cancelled while queued: woken, it leaves the queue from behind (waking nobody) and ends Cancelled', () => {
    const { context } = fakeContext(input);
    const base = backupAnswers();
    const run = drive(backupVmOrchestrator(context), (t) => {
      if (t.kind === 'entity' && t.op === 'enqueue')
        return { position: 1, head: { instanceId: 'other', operation: 'Backup', jobId: 'job-0', since: '' } };
      if (t.kind === 'any') return t.tasks[0]; // the turn event, raised by the cancel request
      if (t.kind === 'activity' && t.name === ACTIVITIES.jobCancelRequested) return CANCEL;
      return base(t);
    });
    expect(names(run.tasks)).toEqual([
      ACTIVITIES.jobEnsure,
      `${Q}.enqueue`,
      ACTIVITIES.jobProgress,
      `any(event:${ITEM_TURN_EVENT},timer)`,
      `${Q}.enqueue`,
      ACTIVITIES.jobCancelRequested,
      `${Q}.release`,
      ACTIVITIES.jobFinish,
    ]);
    expect(run.tasks[6]).toMatchObject({ input: { instanceId: 'instance-1' } });
    expect(run.tasks[7]).toMatchObject({ input: { status: 'Cancelled' } });
  });
});

describe('restore orchestration', () => {
  const rinput: RestoreInput = {
    sub: 's',
    vault: 'v',
    item: 'web01',
    jobId: 'job-r',
    recoveryPointId: 'rp-1',
    target: { restoreType: 'NewVm', vmName: 'web01-restored' },
  };
  // 3 GiB: six 512 MiB segments, two batches.
  const rprepared = ok({
    disks: [{ sizeBytes: 3 * 1024 ** 3, vaultPointId: 'p1', role: 'os', lun: null }],
    osType: 'linux',
    region: 'local',
    sourceVmId: '/vms/web01',
  });
  const provisioned = [
    { diskId: 'd-rjob-r', location: 'vms', sizeBytes: 3 * 1024 ** 3, role: 'os', lun: undefined },
  ];
  function restoreAnswers(over: Partial<Record<string, unknown>> = {}) {
    return (t: FakeTask): unknown => {
      if (t.kind === 'entity') {
        if (t.op === 'enqueue') return { position: 0, head: t.input };
        if (t.op === 'release') return { next: null };
      }
      if (t.kind === 'all') return t.tasks.map(() => ok({ bytesWritten: 100 }));
      if (t.kind !== 'activity') throw new Error(`unexpected ${t.kind}`);
      if (t.name in over) return over[t.name];
      switch (t.name) {
        case ACTIVITIES.restorePrepare:
          return rprepared;
        case ACTIVITIES.restoreDisks:
          return ok(provisioned);
        case ACTIVITIES.restoreFinish:
          return ok({ vmId: '/vms/web01-restored', vmName: 'web01-restored', disks: ['vms/d-rjob-r'] });
        default:
          return undefined;
      }
    };
  }

  it('happy path: the disks are kept and the VM built from them', () => {
    const { context } = fakeContext(rinput);
    const run = drive(restoreVmOrchestrator(context), restoreAnswers());
    const seq = names(run.tasks);
    expect(seq).not.toContain(ACTIVITIES.restoreAbandon);
    expect(seq.slice(-3)).toEqual([ACTIVITIES.restoreFinish, ACTIVITIES.jobFinish, `${Q}.release`]);
    expect(run.tasks.at(-2)).toMatchObject({ input: { status: 'Completed' } });
  });

  it('cancelled after the first batch: the partly written disks are deleted, the job ends Cancelled', () => {
    const { context } = fakeContext(rinput);
    const base = restoreAnswers();
    let progress = 0;
    const run = drive(restoreVmOrchestrator(context), (t) => {
      if (t.kind === 'activity' && t.name === ACTIVITIES.jobProgress)
        return ++progress === 2 ? CANCEL : undefined;
      return base(t);
    });
    const seq = names(run.tasks);
    expect(seq).not.toContain(ACTIVITIES.restoreFinish);
    expect(seq.filter((n) => n.startsWith('all('))).toHaveLength(1);
    expect(seq.slice(-3)).toEqual([ACTIVITIES.restoreAbandon, ACTIVITIES.jobFinish, `${Q}.release`]);
    expect(run.tasks.at(-3)).toMatchObject({ input: provisioned });
    expect(run.tasks.at(-2)).toMatchObject({ input: { status: 'Cancelled' } });
  });

  it('a failed segment or a refused VM step deletes the disks; a VM step that threw leaves them', () => {
    const segmentFails = (t: FakeTask, base: (t: FakeTask) => unknown) =>
      t.kind === 'all' ? t.tasks.map(() => fail('RecoveryPointNotFound', 'gone')) : base(t);
    const a = drive(restoreVmOrchestrator(fakeContext(rinput).context), (t) =>
      segmentFails(t, restoreAnswers()),
    );
    expect(names(a.tasks).slice(-3)).toEqual([
      ACTIVITIES.restoreAbandon,
      ACTIVITIES.jobFinish,
      `${Q}.release`,
    ]);
    expect(a.tasks.at(-2)).toMatchObject({
      input: { status: 'Failed', error: { code: 'RecoveryPointNotFound' } },
    });

    const b = drive(
      restoreVmOrchestrator(fakeContext(rinput).context),
      restoreAnswers({ [ACTIVITIES.restoreFinish]: fail('RestoreTargetExists', 'taken') }),
    );
    expect(names(b.tasks).slice(-4)).toEqual([
      ACTIVITIES.restoreFinish,
      ACTIVITIES.restoreAbandon,
      ACTIVITIES.jobFinish,
      `${Q}.release`,
    ]);

    const c = drive(
      restoreVmOrchestrator(fakeContext(rinput).context),
      restoreAnswers({ [ACTIVITIES.restoreFinish]: { throws: new Error('swap failed half-way') } }),
    );
    expect(names(c.tasks)).not.toContain(ACTIVITIES.restoreAbandon);
    expect(c.tasks.at(-2)).toMatchObject({ input: { status: 'Failed', error: { code: 'InternalError' } } });
  });
});

describe('register orchestration', () => {
  it('refuses at once with OperationInProgress while another operation holds the item (never queues)', () => {
    const { context } = fakeContext({ sub: 's', vault: 'v', vmName: 'web01', jobId: 'job-2' });
    const run = drive(registerVmOrchestrator(context), (t) => {
      if (t.kind === 'entity' && t.op === 'tryAcquire')
        return {
          acquired: false,
          holder: { instanceId: 'x', operation: 'Register', jobId: 'job-1', since: '' },
        };
      return undefined;
    });
    expect(names(run.tasks)).toEqual([ACTIVITIES.jobEnsure, `${Q}.tryAcquire`, ACTIVITIES.jobFinish]);
    expect(run.tasks[2]).toMatchObject({
      input: { status: 'Failed', error: { code: 'OperationInProgress' } },
    });
    expect((run.tasks[2] as { input: { error: { message: string } } }).input.error.message).toMatch(/job-1/);
  });
});

describe('retention orchestration', () => {
  it('holds the turn of every item of the vault (re-listing new ones) while it expires and collects', () => {
    const { context } = fakeContext({});
    let listings = 0;
    const run = drive(vmRetentionOrchestrator(context), (t) => {
      if (t.kind === 'entity' && t.op === 'enqueue') return { position: 0, head: t.input };
      if (t.kind === 'entity' && t.op === 'release') return { next: null };
      if (t.kind !== 'activity') throw new Error(t.kind);
      switch (t.name) {
        case ACTIVITIES.retentionVaults:
          return [{ sub: 's', vault: 'v' }];
        case ACTIVITIES.vaultItems:
          listings++;
          // An item registered while the first turns were taken is found by the second listing.
          return listings === 1 ? ['a', 'b'] : ['a', 'b', 'c'];
        case ACTIVITIES.expirePoints:
          return { items: 3, pointsDeleted: 2 };
        case ACTIVITIES.collectGarbage:
          return { at: '', pointsDeleted: 2, vaultPointsDeleted: 2, packsDeleted: 1, bytesFreed: 10 };
        default:
          return undefined;
      }
    });
    expect(names(run.tasks)).toEqual([
      ACTIVITIES.retentionVaults,
      ACTIVITIES.vaultItems,
      `${Q}.enqueue`,
      `${Q}.enqueue`,
      ACTIVITIES.vaultItems,
      `${Q}.enqueue`,
      ACTIVITIES.vaultItems,
      ACTIVITIES.expirePoints,
      ACTIVITIES.collectGarbage,
      `${Q}.release`,
      `${Q}.release`,
      `${Q}.release`,
    ]);
    const keys = run.tasks
      .filter((t) => t.kind === 'entity' && t.op === 'enqueue')
      .map((t) => (t as { key: string }).key);
    expect(keys).toEqual(['s|v|a', 's|v|b', 's|v|c']);
    expect(run.result).toMatchObject([{ sub: 's', vault: 'v', run: { packsDeleted: 1 } }]);
  });
});

describe('durable names', () => {
  it('registers every activity and orchestrator name once', () => {
    const registered = [
      ...Object.keys(VM_ACTIVITIES),
      ACTIVITIES.jobEnsure,
      ACTIVITIES.jobRunning,
      ACTIVITIES.jobProgress,
      ACTIVITIES.jobFinish,
      ACTIVITIES.jobCancelRequested,
      ACTIVITIES.wakeQueued,
      ACTIVITIES.instanceFinished,
    ].sort();
    expect(registered).toEqual(Object.values(ACTIVITIES).sort());
    expect(Object.keys(VM_ORCHESTRATIONS).sort()).toEqual(Object.values(ORCHESTRATORS).sort());
  });
});
