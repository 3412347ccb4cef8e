// The offline backup orchestration replayed against a scripted context: each scenario asserts the
// actions it schedules (activities, timers, waits) and the decisions on deadlines, with no host. The
// integration tests (offlineApi, e2e) run the same code on the real host; here every timer is visible,
// so the "at most 5 days per timer" rule and the exact deadline instants are checked.
import type { OrchestrationContext } from 'durable-functions';
import { offlineBackupOrchestrator } from '../../functions/offline/offlineBackup.orchestrator';
import { OFFLINE_FUNCTIONS as F, WAKE_EVENT } from '../../functions/offline/names';
import { COPY_PHASES } from '../../shared/offline/importCopy';
import { DAY_MS, MAX_TIMER_MS } from '../../shared/offline/offlineBackup';
import type { WorkflowView } from '../../shared/offline/offlineSteps';

type Fake =
  | { kind: 'activity'; name: string; input: Record<string, unknown> }
  | { kind: 'timer'; at: number; cancel(): void }
  | { kind: 'event'; name: string }
  | { kind: 'any'; tasks: Fake[] }
  | { kind: 'all'; tasks: Fake[] };

interface Scenario {
  /** When the API wakes the workflow, and what it changed in the row. */
  wakes: Array<{ at: number; change: (v: Row) => void }>;
  /** The import job's state as polled at time t. */
  importState: (t: number) => { state: string; failedDrives?: string[] };
  scheduledCopyAt: (t: number) => number;
}

type Row = { -readonly [K in keyof WorkflowView]: WorkflowView[K] } & { stagingDeletable?: boolean };

const T0 = Date.parse('2025-06-01T00:00:00Z');

function run(s: Scenario) {
  let now = T0;
  const row: Row = { state: 'WaitingForStaging', importJobCreated: false, shippingEntered: false };
  const log: string[] = [];
  const timers: number[] = [];
  const wakes = [...s.wakes].sort((a, b) => a.at - b.at);
  const applyWakesUntil = (t: number) => {
    while (wakes[0] && wakes[0].at <= t) wakes.shift()?.change(row);
  };
  const activity = (name: string, input: Record<string, unknown>): unknown => {
    log.push(name === F.recordState ? `${name} ${JSON.stringify(input.patch)}` : name);
    switch (name) {
      case F.loadState:
        return { ok: true, view: { ...row } };
      case F.recordState: {
        const patch = input.patch as Partial<Row>;
        if (!['Completed', 'Expired', 'Failed'].includes(row.state)) Object.assign(row, patch);
        return { ok: true, view: { ...row } };
      }
      case F.pollImport: {
        const p = s.importState(Date.parse(String(input.now)));
        return { ok: true, state: p.state, failedDrives: p.failedDrives ?? [], bytesTransferred: 0 };
      }
      case F.nextScheduledBackup:
        return { ok: true, at: new Date(s.scheduledCopyAt(Date.parse(String(input.now)))).toISOString() };
      case F.copyUnit:
        return { ok: true, objectsCopied: 1, objectsSkipped: 0, bytesCopied: 10 };
      case F.commit:
        return { ok: true, points: 2 };
      case F.cleanImport:
        return { ok: true, deleted: 3 };
      case F.expire:
        row.state = 'Expired';
        log.push(`  reason: ${String(input.reason)}`);
        return { ok: true, state: 'Expired' };
      case F.fail:
        row.state = 'Failed';
        log.push(`  ${String(input.code)}: ${String(input.message)}`);
        return { ok: true, state: 'Failed' };
      default:
        throw new Error(`unexpected activity ${name}`);
    }
  };
  const df = {
    getInput: () => ({ subscriptionId: 's', vaultName: 'v', name: 'job' }),
    get currentUtcDateTime() {
      return new Date(now);
    },
    setCustomStatus: () => undefined,
    callActivityWithRetry: (name: string, _retry: unknown, input: Record<string, unknown>): Fake => ({
      kind: 'activity',
      name,
      input,
    }),
    createTimer: (at: Date): Fake => {
      timers.push(at.getTime() - now);
      return { kind: 'timer', at: at.getTime(), cancel: () => undefined };
    },
    waitForExternalEvent: (name: string): Fake => ({ kind: 'event', name }),
    Task: {
      any: (tasks: Fake[]): Fake => ({ kind: 'any', tasks }),
      all: (tasks: Fake[]): Fake => ({ kind: 'all', tasks }),
    },
  };
  const gen = offlineBackupOrchestrator({ df } as unknown as OrchestrationContext);
  let next = gen.next();
  for (let steps = 0; !next.done; steps++) {
    if (steps > 10_000) throw new Error('runaway orchestration');
    const task = next.value as unknown as Fake;
    let value: unknown;
    if (task.kind === 'activity') value = activity(task.name, task.input);
    else if (task.kind === 'all')
      value = task.tasks.map((t) => (t.kind === 'activity' ? activity(t.name, t.input) : undefined));
    else if (task.kind === 'timer') {
      now = task.at;
      applyWakesUntil(now);
    } else if (task.kind === 'any') {
      const timer = task.tasks.find((t) => t.kind === 'timer') as Extract<Fake, { kind: 'timer' }>;
      const event = task.tasks.find((t) => t.kind === 'event') as Extract<Fake, { kind: 'event' }>;
      expect(event.name).toBe(WAKE_EVENT);
      const wake = wakes[0];
      if (wake && wake.at < timer.at) {
        now = Math.max(now, wake.at);
        applyWakesUntil(now);
        value = event;
      } else {
        now = timer.at;
        applyWakesUntil(now);
        value = timer;
      }
    }
    next = gen.next(value);
  }
  return { result: next.value, row, log, timers, now };
}

const never = () => ({ state: 'Shipping' });

test('no tracking number: expires exactly 14 days after the import job; every timer ≤ 5 days', () => {
  const r = run({
    wakes: [{ at: T0 + 2 * DAY_MS, change: (v) => (v.importJobCreated = true) }],
    importState: never,
    scheduledCopyAt: (t) => t,
  });
  expect(r.result).toBe('Expired');
  expect(r.now).toBe(T0 + 16 * DAY_MS);
  expect(r.log.join('\n')).toMatch(
    /reason: No tracking number was entered within 14 days of creating import job job/,
  );
  expect(Math.max(...r.timers)).toBeLessThanOrEqual(MAX_TIMER_MS);
});

test('tracking on day 13 proceeds; drives never arrive: expires 14 days after the shipping details', () => {
  const r = run({
    wakes: [
      { at: T0, change: (v) => (v.importJobCreated = true) },
      { at: T0 + 13 * DAY_MS, change: (v) => (v.shippingEntered = true) },
    ],
    importState: never,
    scheduledCopyAt: (t) => t,
  });
  expect(r.result).toBe('Expired');
  expect(r.now).toBe(T0 + 27 * DAY_MS);
  expect(r.log.join('\n')).toMatch(
    /reason: The drives did not reach the datacenter within 14 days of the shipping details/,
  );
  // Polled daily while in transit.
  expect(r.log.filter((l) => l === F.pollImport).length).toBeGreaterThanOrEqual(14);
  expect(Math.max(...r.timers)).toBeLessThanOrEqual(MAX_TIMER_MS);
});

test('nothing staged within 30 days: expires', () => {
  const r = run({ wakes: [], importState: never, scheduledCopyAt: (t) => t });
  expect(r.result).toBe('Expired');
  expect(r.now).toBe(T0 + 30 * DAY_MS);
  expect(r.timers.every((t) => t <= MAX_TIMER_MS)).toBe(true);
});

test('happy path: import, wait for the next scheduled backup (20 days away), copy phase by phase, commit, clean', () => {
  const received = T0 + 5 * DAY_MS;
  const done = T0 + 16 * DAY_MS;
  const r = run({
    wakes: [
      { at: T0, change: (v) => (v.importJobCreated = true) },
      { at: T0 + 3 * DAY_MS, change: (v) => (v.shippingEntered = true) },
    ],
    importState: (t) => ({ state: t >= done ? 'Completed' : t >= received ? 'Transferring' : 'Shipping' }),
    scheduledCopyAt: (t) => t + 20 * DAY_MS,
  });
  expect(r.result).toBe('Completed');
  expect(r.row.state).toBe('Completed');
  expect(r.row.stagingDeletable).toBe(true);
  const order = r.log.filter((l) => !l.startsWith(F.pollImport) && !l.startsWith(F.loadState));
  const copies = order.filter((l) => l === F.copyUnit).length;
  expect(copies).toBe(COPY_PHASES.reduce((n, p) => n + p.length, 0));
  // Write order: copies, then commit (recovery points), then the import container is cleaned.
  expect(order.lastIndexOf(F.copyUnit)).toBeLessThan(order.indexOf(F.commit));
  expect(order.indexOf(F.commit)).toBeLessThan(order.indexOf(F.cleanImport));
  expect(order.find((l) => l.includes('"state":"CopyingToVault"'))).toBeDefined();
  // The 20-day wait for the scheduled backup is made of ≤ 5-day timers.
  expect(Math.max(...r.timers)).toBeLessThanOrEqual(MAX_TIMER_MS);
  expect(r.timers.filter((t) => t === MAX_TIMER_MS).length).toBeGreaterThanOrEqual(3);
});

test('the import completes with a failed drive: the workflow fails naming it, nothing is copied', () => {
  const r = run({
    wakes: [
      { at: T0, change: (v) => (v.importJobCreated = true) },
      { at: T0 + DAY_MS, change: (v) => (v.shippingEntered = true) },
    ],
    importState: (t) =>
      t > T0 + 12 * DAY_MS
        ? { state: 'Completed', failedDrives: ['d1: file packs/ab/x does not match'] }
        : { state: 'Transferring' },
    scheduledCopyAt: (t) => t,
  });
  expect(r.result).toBe('Failed');
  expect(r.log.join('\n')).toMatch(
    /OFFLINE\.FILE_CORRUPT: Import job job completed with failed drives \(d1: file packs\/ab\/x/,
  );
  expect(r.log).not.toContain(F.copyUnit);
});
