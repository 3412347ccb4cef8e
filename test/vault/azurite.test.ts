// One round trip plus verify through the Azure adapter against Azurite (in memory), with a new
// container per test.
import * as path from 'node:path';
import { startAzurite, type AzuriteInstance } from '../../host/src/azurite/azuriteProcess';
import { AzureBlobStore } from '../../shared/blob/azureBlobStore';
import { backup } from '../../shared/vault/backup';
import { openVault } from '../../shared/vault/openVault';
import { restore } from '../../shared/vault/restore';
import { verify } from '../../shared/vault/verify';
import { KIB, MIB, expectSameFile, mixedImage, newVault, tempDir, writeImage } from './vaultTestUtils';

let azurite: AzuriteInstance | undefined;

beforeAll(async () => {
  azurite = await startAzurite();
}, 60_000);

afterAll(async () => {
  await azurite?.stop();
});

test('disk image round trip, incremental and verify on Azurite', async () => {
  const store = AzureBlobStore.fromConnectionString(
    azurite!.connectionString,
    `vault-${process.pid}-${Date.now()}`,
  );
  const { vault, provider } = await newVault(store, { packTargetBytes: 1 * MIB });
  const dir = tempDir('azurite');
  const image = mixedImage(3 * MIB + 5, 11, 64 * KIB);
  const src = await writeImage(dir, 'disk.img', image);
  const first = await backup(vault, { kind: 'diskImage', path: src });
  expect(first.packsWritten).toBeGreaterThanOrEqual(1);
  const again = await backup(vault, { kind: 'diskImage', path: src }, { parentPointId: first.pointId });
  expect(again.blocksNew).toBe(0);

  const reopened = await openVault(store, provider);
  const out = path.join(dir, 'restored.img');
  await restore(reopened, again.pointId, out);
  await expectSameFile(out, image);
  const report = await verify(reopened, { readData: true, seed: 1 });
  expect(report).toMatchObject({ ok: true, pointsChecked: 2 });
  expect(report.packsRead).toBe(report.packsChecked);
}, 60_000);
