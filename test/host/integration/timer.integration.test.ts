import { BlobServiceClient } from '@azure/storage-blob';
import { startAzurite, type AzuriteInstance } from '../../../host/src/azurite/azuriteProcess';
import { startHostProcess, type HostProcess } from '../../support/hostProcess';
import { BASIC_APP, TestQueues } from './storageHelpers';

const DAY_MS = 86_400_000;

interface Fire {
  fn: string;
  isPastDue: boolean;
  scheduleStatus: { last: string; next: string; lastUpdated: string } | null;
  firedAt: string;
}

let azurite: AzuriteInstance;
let queues: TestQueues;
const hosts: HostProcess[] = [];

async function start(env: Record<string, string>): Promise<HostProcess> {
  const host = await startHostProcess({ appDir: BASIC_APP, connectionString: azurite.connectionString, env });
  hosts.push(host);
  return host;
}

const parse = (texts: string[]): Fire[] => texts.map((t) => JSON.parse(t) as Fire);

beforeAll(async () => {
  azurite = await startAzurite();
  queues = new TestQueues(azurite.connectionString);
});

afterAll(async () => {
  for (const h of hosts) await h.stop();
  await azurite?.stop();
});

describe('timer triggers', () => {
  test('a */2 * * * * * timer fires on schedule', async () => {
    const host = await start({ 'AzureWebJobs.daily.Disabled': 'true' });
    const fires = parse(await queues.takeAtLeast('tick-fires', 2, 9000));
    expect(fires.length).toBeGreaterThanOrEqual(2);
    for (const f of fires) {
      expect(f).toMatchObject({ fn: 'everyTwoSeconds', isPastDue: false, scheduleStatus: null });
    }
    const [a, b] = fires.map((f) => Date.parse(f.firedAt));
    // Consecutive fires are one schedule step (2 s) apart, give or take the invocation latency.
    expect(Math.round(((b ?? 0) - (a ?? 0)) / 2000)).toBe(1);
    await host.stop();
  });

  describe('schedule status across restarts and clock fast-forwards (daily timer)', () => {
    const daily: Fire[] = [];
    let statusBlob: () => Promise<Record<string, string>>;

    test('first start records the next occurrence', async () => {
      const host = await start({ 'AzureWebJobs.everyTwoSeconds.Disabled': 'true' });
      const hostId = ((await (await host.fetch('/admin/host/status')).json()) as { id: string }).id;
      const blob = BlobServiceClient.fromConnectionString(azurite.connectionString)
        .getContainerClient('azure-webjobs-hosts')
        .getBlockBlobClient(`timers/${hostId}/daily/status`);
      statusBlob = async () =>
        JSON.parse((await blob.downloadToBuffer()).toString('utf8')) as Record<string, string>;
      const status = await statusBlob();
      expect(status.Last).toBe('0001-01-01T00:00:00');
      expect(new Date(status.Next ?? '').getUTCHours()).toBe(0);
      await host.stop();
    });

    test('a restart after the occurrence was missed fires it once, with IsPastDue', async () => {
      const before = await statusBlob();
      const host = await start({
        'AzureWebJobs.everyTwoSeconds.Disabled': 'true',
        STRONGBOX_CLOCK_OFFSET_MS: String(DAY_MS),
      });
      daily.push(...parse(await queues.takeAtLeast('daily-fires', 1)));
      expect(daily).toHaveLength(1);
      expect(daily[0]).toMatchObject({ fn: 'daily', isPastDue: true });
      expect(Date.parse(daily[0]?.scheduleStatus?.next ?? '')).toBe(Date.parse(before.Next ?? ''));
      await host.stop();
      const after = await statusBlob();
      expect(Date.parse(after.Last ?? '')).toBe(Date.parse(before.Next ?? ''));
      expect(Date.parse(after.Next ?? '')).toBe(Date.parse(before.Next ?? '') + DAY_MS);
    });

    let survivor: HostProcess;
    test('restarting again does not fire the same occurrence twice', async () => {
      survivor = await start({
        'AzureWebJobs.everyTwoSeconds.Disabled': 'true',
        STRONGBOX_CLOCK_OFFSET_MS: String(DAY_MS),
      });
      await new Promise((r) => setTimeout(r, 2500));
      daily.push(...parse(await queues.take('daily-fires')));
      expect(daily).toHaveLength(1);
      expect(survivor.logs()).not.toContain("Executing 'Functions.daily'");
    });

    test('fast-forwarding the clock a day through the admin API fires the daily timer once, past due', async () => {
      const res = await survivor.fetch('/admin/host/clock', {
        method: 'POST',
        body: JSON.stringify({ advanceDays: 1 }),
      });
      expect(((await res.json()) as { offsetMs: number }).offsetMs).toBe(2 * DAY_MS);
      daily.push(...parse(await queues.takeAtLeast('daily-fires', 1)));
      await new Promise((r) => setTimeout(r, 1500));
      daily.push(...parse(await queues.take('daily-fires')));
      expect(daily).toHaveLength(2);
      expect(daily[1]).toMatchObject({ fn: 'daily', isPastDue: true });
      await survivor.stop();
    });
  });
});
