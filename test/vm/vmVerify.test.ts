// Scheduled verify of VM vaults (reliability.md row 6; docs/verify.md).
//   Pure: the plan (sample or full, seed, job id) is a function of vault and day; the full day comes
//   once in every 30 days; the false-alarm guard drops only what concurrent work explains.
//   Orchestrator (fake context): one job per vault with the plan's id and seed; a failing vault does
//   not stop the others; a vault already verified today is skipped.
//   Host (Azurite + compiled app): protect and back up a 16 MiB VM, let the 03:30 timer run a
//   Verify job (Completed); corrupt one byte in the middle of a pack; an on-demand full verify fails
//   with VerifyFoundDamage naming the recovery point.
import { BlobServiceClient } from '@azure/storage-blob';
import * as df from 'durable-functions';
import { ACTIVITIES, ORCHESTRATORS, VERIFY_CRON, VERIFY_INSTANCE_ID } from '../../functions/vm/names';
import { vmVerifyOrchestrator, type VaultVerifyResult } from '../../functions/vm/vmVerify.orchestrator';
import { DEFAULT_VAULT_CONTAINER_PREFIX } from '../../shared/config/config';
import type { DamageReport } from '../../shared/vault';
import { vaultContainerName } from '../../shared/vaultStorage/vaultContainers';
import {
  FULL_VERIFY_EVERY_DAYS,
  VERIFY_SAMPLE_SHARE,
  confirmedBy,
  describeDamage,
  isFullVerifyDay,
  verifyPlan,
  withoutVanishedPoints,
} from '../../shared/vm/vaultVerify';
import { fail, ok } from '../../shared/vm/vmErrors';
import { durableClientFor } from '../support/durableClient';
import { drive, fakeContext, names, type FakeTask } from './fakeOrchestration';
import { DAY_MS, eventually, startVmTestEnv, vmDiskHashes, type JobView, type VmTestEnv } from './vmTestEnv';

const AT = new Date('2030-01-01T03:30:00Z');

function report(over: Partial<DamageReport> = {}): DamageReport {
  return {
    ok: false,
    pointsChecked: 2,
    blocksReferenced: 3,
    packsChecked: 2,
    packsRead: 0,
    blocksRead: 0,
    seed: 1,
    missingBlocks: [],
    missingPacks: [],
    corruptBlocks: [],
    damagedPacks: [],
    unreadableIndexes: [],
    unreadablePoints: [],
    ...over,
  };
}

describe('verify plan', () => {
  it('is the same for the same vault and day, and differs between vaults, days and runs', () => {
    const a = verifyPlan('s', 'v', AT);
    expect(verifyPlan('S', 'V', new Date(AT.getTime() + 3_600_000))).toEqual(a);
    expect(a.jobId).toMatch(/^[0-9a-f-]{36}$/);
    expect(a.day).toBe('2030-01-01');
    const others = [
      verifyPlan('s', 'w', AT),
      verifyPlan('s', 'v', new Date(AT.getTime() + DAY_MS)),
      verifyPlan('s', 'v', AT, { runId: 'manual' }),
    ];
    for (const o of others) {
      expect(o.jobId).not.toBe(a.jobId);
      expect(o.seed).not.toBe(a.seed);
    }
    expect(a.seed).toBeGreaterThanOrEqual(0);
    expect(a.seed).toBeLessThan(2 ** 31);
  });

  it('reads every pack on exactly one day in any 30, at a day that differs between vaults', () => {
    const day0 = Math.floor(AT.getTime() / DAY_MS);
    const fullDays = (vault: string, from: number) =>
      Array.from({ length: FULL_VERIFY_EVERY_DAYS }, (_, i) => from + i).filter((d) =>
        isFullVerifyDay('s', vault, d),
      );
    const phases = new Set<number>();
    for (let i = 0; i < 20; i++) {
      const vault = `vault${i}`;
      for (const from of [day0, day0 + 7, day0 + 29]) expect(fullDays(vault, from)).toHaveLength(1);
      const d = fullDays(vault, day0)[0]!;
      phases.add(d % FULL_VERIFY_EVERY_DAYS);
      const plan = verifyPlan('s', vault, new Date(d * DAY_MS + 12_600_000));
      expect(plan).toMatchObject({ sample: 'full', readData: true });
      expect(verifyPlan('s', vault, new Date((d + 1) * DAY_MS))).toMatchObject({
        sample: '2%',
        readData: VERIFY_SAMPLE_SHARE,
      });
    }
    expect(phases.size).toBeGreaterThan(5);
  });

  it('forces a full read on demand', () => {
    expect(verifyPlan('s', 'v', AT, { full: true, runId: 'r' })).toMatchObject({ sample: 'full' });
  });

  it('runs daily at 03:30 UTC', () => {
    expect(VERIFY_CRON).toBe('0 30 3 * * *');
  });
});

describe('false-alarm guard', () => {
  it('drops findings whose points are all gone, and keeps any that touches a live point', () => {
    const r = report({
      missingPacks: [
        { packId: 'p1', blockIds: ['b1'], pointIds: ['gone'] },
        { packId: 'p2', blockIds: ['b2'], pointIds: ['gone', 'live'] },
      ],
      missingBlocks: [{ blockId: 'b3', pointIds: ['gone'] }],
      corruptBlocks: [{ blockId: 'b4', packId: 'p4', reason: 'auth', pointIds: [] }],
      unreadablePoints: [
        { pointId: 'gone', reason: 'not found' },
        { pointId: 'live', reason: 'bad' },
      ],
    });
    const g = withoutVanishedPoints(r, new Set(['live']));
    expect(g.discarded).toBe(3);
    expect(g.report.ok).toBe(false);
    expect(g.report.missingPacks.map((p) => p.packId)).toEqual(['p2']);
    expect(g.report.missingBlocks).toEqual([]);
    expect(g.report.corruptBlocks).toHaveLength(1); // no point ids: nothing says it is harmless
    expect(g.report.unreadablePoints.map((p) => p.pointId)).toEqual(['live']);
    const clean = withoutVanishedPoints(
      report({ missingBlocks: [{ blockId: 'b', pointIds: ['x'] }] }),
      new Set(),
    );
    expect(clean.report.ok).toBe(true);
  });

  it('keeps a missing block or pack only if a second look finds it again; never drops corrupt data', () => {
    const r = report({
      missingPacks: [
        { packId: 'repacked', blockIds: ['b1'], pointIds: ['live'] },
        { packId: 'lost', blockIds: ['b2'], pointIds: ['live'] },
      ],
      missingBlocks: [{ blockId: 'new-point-block', pointIds: ['new'] }],
      corruptBlocks: [{ blockId: 'b5', packId: 'p5', reason: 'auth', pointIds: ['live'] }],
    });
    const again = report({ missingPacks: [{ packId: 'lost', blockIds: ['b2'], pointIds: ['live'] }] });
    const c = confirmedBy(r, again);
    expect(c.discarded).toBe(2);
    expect(c.report.missingPacks.map((p) => p.packId)).toEqual(['lost']);
    expect(c.report.missingBlocks).toEqual([]);
    expect(c.report.corruptBlocks).toHaveLength(1);
    expect(confirmedBy(report({ missingBlocks: r.missingBlocks }), report()).report.ok).toBe(true);
  });

  it('names the first damaged block and the recovery points affected', () => {
    const r = report({
      corruptBlocks: [
        { blockId: 'b5', packId: 'p5', reason: 'authentication failed', pointIds: ['d1', 'd9'] },
      ],
    });
    const text = describeDamage('v1', r, new Map([['d1', 'web01/rp-1']]));
    expect(text).toBe(
      'Verify found damage in vault v1: block b5 in pack p5 is corrupt (authentication failed); ' +
        'recovery points affected: web01/rp-1, disk point d9; corruptBlocks 1',
    );
  });
});

describe('verify orchestration', () => {
  const vaults = [
    { sub: 's', vault: 'a' },
    { sub: 's', vault: 'b' },
    { sub: 's', vault: 'c' },
  ];
  const info = { sample: '2%', seed: 1, pointsChecked: 2, packsChecked: 2, packsRead: 0, blocksRead: 0 };

  function run(
    input: unknown,
    verifyAnswer: (vault: string) => unknown,
    opts: { ended?: string[]; finishThrows?: string[] } = {},
  ) {
    const { context } = fakeContext(input, { instanceId: VERIFY_INSTANCE_ID, now: AT });
    return drive(vmVerifyOrchestrator(context), (t: FakeTask) => {
      if (t.kind !== 'activity') throw new Error(t.kind);
      const i = t.input as { vault: string };
      switch (t.name) {
        case ACTIVITIES.retentionVaults:
          return vaults;
        case ACTIVITIES.verifyJobStart:
          return { ended: opts.ended?.includes(i.vault) ?? false };
        case ACTIVITIES.verifyVault:
          return verifyAnswer(i.vault);
        case ACTIVITIES.jobFinish:
          return opts.finishThrows?.includes(i.vault) ? { throws: new Error('VaultNotFound') } : undefined;
        default:
          throw new Error(`unexpected activity ${t.name}`);
      }
    });
  }

  const activity = (tasks: FakeTask[], name: string) =>
    tasks.filter((t) => t.kind === 'activity' && t.name === name).map((t) => (t as { input: unknown }).input);

  it('starts one job per vault with the plan id and seed, and a failing vault does not stop the others', () => {
    const r = run(undefined, (vault) => {
      if (vault === 'a') return { throws: new Error('storage unavailable\n  at stack') };
      if (vault === 'b')
        return ok({ damaged: true, info: { ...info, corruptBlocks: 1 }, detail: 'block x is corrupt' });
      return ok({ damaged: false, info });
    });
    expect(names(r.tasks)).toEqual([
      ACTIVITIES.retentionVaults,
      ...vaults.flatMap(() => [ACTIVITIES.verifyJobStart, ACTIVITIES.verifyVault, ACTIVITIES.jobFinish]),
    ]);
    const starts = activity(r.tasks, ACTIVITIES.verifyJobStart) as { vault: string; jobId: string }[];
    expect(starts.map((s) => s.jobId)).toEqual(vaults.map((v) => verifyPlan(v.sub, v.vault, AT).jobId));
    expect(new Set(starts.map((s) => s.jobId)).size).toBe(3);
    expect(starts[0]).toMatchObject({ durableInstanceId: VERIFY_INSTANCE_ID });
    const verifies = activity(r.tasks, ACTIVITIES.verifyVault) as { vault: string; seed: number }[];
    for (const v of verifies) {
      const plan = verifyPlan('s', v.vault, AT);
      expect(v).toEqual({
        sub: 's',
        vault: v.vault,
        readData: plan.readData,
        seed: plan.seed,
        sample: plan.sample,
      });
    }
    const finishes = activity(r.tasks, ACTIVITIES.jobFinish) as {
      vault: string;
      status: string;
      error?: { code: string; message: string };
      extendedInfo: Record<string, unknown>;
    }[];
    expect(finishes.map((f) => [f.vault, f.status, f.error?.code])).toEqual([
      ['a', 'Failed', 'InternalError'],
      ['b', 'Failed', 'VerifyFoundDamage'],
      ['c', 'Completed', undefined],
    ]);
    expect(finishes[0]!.error!.message).toMatch(/^storage unavailable\. The operation failed unexpectedly/);
    expect(finishes[1]!.error!.message).toMatch(/^block x is corrupt\. The recovery points named/);
    expect(finishes[1]!.extendedInfo).toMatchObject({ corruptBlocks: 1 });
    expect(finishes[2]!.extendedInfo).toEqual(info);
    expect(r.result.map((x: VaultVerifyResult) => x.outcome)).toEqual(['Failed', 'Failed', 'Completed']);
    // Replaying the same history schedules the same work (deterministic ids and seeds).
    const again = run(undefined, (vault) =>
      vault === 'a' ? { throws: new Error('storage unavailable') } : ok({ damaged: false, info }),
    );
    expect(activity(again.tasks, ACTIVITIES.verifyVault)).toEqual(verifies);
  });

  it('fails a vault whose key cannot be used with VaultKeyUnavailable, and goes on', () => {
    const r = run(undefined, (vault) =>
      vault === 'a' ? fail('VaultKeyUnavailable', 'KEY.ACCESS_DENIED: no') : ok({ damaged: false, info }),
    );
    const finishes = activity(r.tasks, ACTIVITIES.jobFinish) as {
      status: string;
      error?: { code: string };
    }[];
    expect(finishes.map((f) => f.error?.code ?? f.status)).toEqual([
      'VaultKeyUnavailable',
      'Completed',
      'Completed',
    ]);
  });

  it('skips a vault already verified today, and keeps going when a job cannot be written', () => {
    const r = run(undefined, () => ok({ damaged: false, info }), { ended: ['a'], finishThrows: ['b'] });
    expect(activity(r.tasks, ACTIVITIES.verifyVault).map((i) => (i as { vault: string }).vault)).toEqual([
      'b',
      'c',
    ]);
    expect(r.result.map((x) => [x.vault, x.outcome])).toEqual([
      ['a', 'AlreadyVerified'],
      ['b', 'Error'],
      ['c', 'Completed'],
    ]);
  });

  it('runs an on-demand full verify under its own job ids', () => {
    const r = run({ full: true, runId: 'after-incident' }, () => ok({ damaged: false, info }));
    const starts = activity(r.tasks, ACTIVITIES.verifyJobStart) as { vault: string; jobId: string }[];
    const verifies = activity(r.tasks, ACTIVITIES.verifyVault) as { readData: unknown; sample: string }[];
    expect(starts[0]!.jobId).toBe(verifyPlan('s', 'a', AT, { full: true, runId: 'after-incident' }).jobId);
    expect(starts[0]!.jobId).not.toBe(verifyPlan('s', 'a', AT).jobId);
    for (const v of verifies) expect(v).toMatchObject({ readData: true, sample: 'full' });
  });
});

// ---- on the host ---------------------------------------------------------------------------------------

describe('verify on the host', () => {
  const SUB = 'sub-verify';
  const VAULT = 'verifyvault';
  const BASE = `/subscriptions/${SUB}/vaults/${VAULT}`;
  const VM = 'ver01';
  const MiB = 1024 * 1024;
  let env: VmTestEnv;
  let client: df.DurableClient;

  beforeAll(async () => {
    env = await startVmTestEnv();
    await env.grant('owner', 'Owner', `/subscriptions/${SUB}`);
    client = durableClientFor(env.host, 'StrongboxHub');
  }, 120_000);

  afterAll(async () => {
    await env?.stop();
  });

  async function verifyJobs(): Promise<JobView[]> {
    const r = await env.api('GET', `${BASE}/jobs?operation=Verify`);
    expect(r.status).toBe(200);
    return r.body.value as JobView[];
  }

  /** Waits for the verify run created at or after `sinceMs` (host time) to complete; returns its output. */
  async function verifyRunAfter(sinceMs: number): Promise<VaultVerifyResult[]> {
    return eventually(
      'a verify run',
      async () => {
        const s = await client.getStatus(VERIFY_INSTANCE_ID).catch(() => undefined);
        if (!s || s.createdTime.getTime() < sinceMs - 1000) return undefined;
        const status = String(s.runtimeStatus);
        if (status === 'Failed') throw new Error(`the verify run failed: ${JSON.stringify(s.output)}`);
        return status === 'Completed' ? (s.output as VaultVerifyResult[]) : undefined;
      },
      120_000,
    );
  }

  it('verifies on the daily timer, and a full verify finds one corrupt byte and names the point', async () => {
    expect((await env.api('PUT', BASE, { body: { location: 'local' } })).status).toBe(201);
    await env.fabric.createVm({ name: VM, diskBytes: 16 * MiB, content: { seed: 31 } });
    await env.protect(SUB, VAULT, [VM]);
    const b = await env.api('POST', `${BASE}/protectedItems/${VM}/backup`);
    expect(b.status).toBe(202);
    expect((await env.waitJob(SUB, VAULT, String(b.body.name))).properties.status).toBe('Completed');
    const rp = await env.api('GET', `${BASE}/protectedItems/${VM}/recoveryPoints`);
    const pointName = (rp.body.value as { name: string }[])[0]!.name;
    const sourceHashes = await vmDiskHashes(env.fabric, VM);

    // The timer: move the host's clock past the next 03:30 UTC.
    const now = await env.hostNow();
    const dayStart = Math.floor(now / DAY_MS) * DAY_MS;
    let at = dayStart + (3 * 60 + 31) * 60_000;
    if (at <= now) at += DAY_MS;
    await env.advanceClock(at - now);
    const out = await verifyRunAfter(at);
    expect(out).toEqual([expect.objectContaining({ sub: SUB, vault: VAULT, outcome: 'Completed' })]);
    const plan = verifyPlan(SUB, VAULT, new Date(at));
    const jobs = await verifyJobs();
    expect(jobs.map((j) => j.name)).toEqual([plan.jobId]);
    const job = jobs[0]!;
    expect(job.properties).toMatchObject({ operation: 'Verify', status: 'Completed' });
    expect(job.properties.itemName).toBeUndefined();
    expect(job.properties.extendedInfo).toMatchObject({ sample: plan.sample, seed: plan.seed });
    expect(job.properties.extendedInfo!.pointsChecked).toBe(1);
    expect(job.properties.extendedInfo!.packsChecked).toBeGreaterThan(0);
    console.info(
      `scheduled verify (${plan.sample}): ${JSON.stringify(job.properties.extendedInfo)}, ${job.properties.durationMs} ms`,
    );

    // A second run the same day (a tick fired twice) makes no second job.
    await client.startNew(ORCHESTRATORS.verify, { instanceId: VERIFY_INSTANCE_ID });
    const twice = await verifyRunAfter(await env.hostNow());
    expect(twice).toEqual([expect.objectContaining({ outcome: 'AlreadyVerified', jobId: plan.jobId })]);
    expect(await verifyJobs()).toHaveLength(1);

    // One byte in the middle of the largest pack.
    const container = BlobServiceClient.fromConnectionString(env.azurite.connectionString).getContainerClient(
      vaultContainerName(DEFAULT_VAULT_CONTAINER_PREFIX, SUB, VAULT, 'vm'),
    );
    const packs: { name: string; size: number }[] = [];
    for await (const blob of container.listBlobsFlat({ prefix: 'packs/' }))
      packs.push({ name: blob.name, size: blob.properties.contentLength ?? 0 });
    expect(packs.length).toBeGreaterThan(0);
    const victim = packs.sort((x, y) => y.size - x.size)[0]!;
    const blob = container.getBlockBlobClient(victim.name);
    const data = await blob.downloadToBuffer();
    const middle = Math.floor(data.length / 2);
    data[middle] = data[middle]! ^ 0x01;
    await blob.uploadData(data);
    const packBytes = packs.reduce((n, p) => n + p.size, 0);

    const since = await env.hostNow();
    await client.startNew(ORCHESTRATORS.verify, {
      instanceId: VERIFY_INSTANCE_ID,
      input: { full: true, runId: 'after-corruption' },
    });
    const full = await verifyRunAfter(since);
    const fullPlan = verifyPlan(SUB, VAULT, new Date(since), { full: true, runId: 'after-corruption' });
    expect(full).toEqual([expect.objectContaining({ jobId: fullPlan.jobId, outcome: 'Failed' })]);
    const failed = await env.waitJob(SUB, VAULT, fullPlan.jobId);
    expect(failed.properties).toMatchObject({
      operation: 'Verify',
      status: 'Failed',
      error: { code: 'VerifyFoundDamage' },
      extendedInfo: { sample: 'full' },
    });
    // The clock's move past 03:30 may also have run the policy's daily backup: one or two points.
    expect(failed.properties.extendedInfo!.pointsChecked).toBeGreaterThanOrEqual(1);
    const message = failed.properties.error!.message;
    expect(message).toContain(`${VM}/${pointName}`);
    expect(message).toContain(victim.name.slice('packs/'.length).split('/').pop()!);
    const info = failed.properties.extendedInfo!;
    expect(Number(info.corruptBlocks) + Number(info.damagedPacks)).toBeGreaterThan(0);
    expect(info.packsRead).toBe(packs.length);
    console.info(
      `full verify of ${packs.length} packs (${packBytes} bytes): ${JSON.stringify(info)}, ${failed.properties.durationMs} ms; ${message}`,
    );

    // Self-healing: the verify quarantined the broken copy. The next backup is incremental (change
    // tracking), but a parent block with no usable copy is read again rather than copied forward
    // (planDiskBackup), so the block is stored again from the source; a full verify is then clean,
    // and the OLD point (which names the block by id) restores identical.
    const heal = await env.api('POST', `${BASE}/protectedItems/${VM}/backup`);
    const healed = await env.waitJob(SUB, VAULT, String(heal.body.name));
    expect(healed.properties.status).toBe('Completed');
    expect(Number(healed.properties.extendedInfo?.bytesRead)).toBeGreaterThan(0);
    const again = await env.hostNow();
    await client.startNew(ORCHESTRATORS.verify, {
      instanceId: VERIFY_INSTANCE_ID,
      input: { full: true, runId: 'after-healing' },
    });
    const after = await verifyRunAfter(again);
    expect(after).toEqual([expect.objectContaining({ outcome: 'Completed' })]);
    const restore = await env.api(
      'POST',
      `${BASE}/protectedItems/${VM}/recoveryPoints/${pointName}/restore`,
      { body: { restoreType: 'NewVm', vmName: `${VM}-healed` } },
    );
    expect((await env.waitJob(SUB, VAULT, String(restore.body.name))).properties.status).toBe('Completed');
    expect(await vmDiskHashes(env.fabric, `${VM}-healed`)).toEqual(sourceHashes);
  }, 300_000);
});
