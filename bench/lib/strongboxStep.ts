// Child-process entry for one Strongbox step: `node strongboxStep.js '<StepSpec JSON>'`.
// Prints one JSON StepReport line on success; exits non-zero with the error otherwise.
import type { BlobStore } from '../../shared/blob/blobStore';
import { LocalDirBlobStore } from '../../shared/blob/localDirBlobStore';
import { backup, createVault, localKeyFileProvider, openVault, restore } from '../../shared/vault';
import { readRecordedChange, recordedChangedRanges } from './changeTracking';
import type { StepReport, StepSpec, StoreSpec } from './strongboxStepSpec';

/** The Azure adapter is loaded only when used: the SDK adds ~0.14 s of start-up to every local step. */
async function storeOf(spec: StoreSpec): Promise<BlobStore> {
  if (spec.kind === 'local') return new LocalDirBlobStore(spec.dir);
  const { AzureBlobStore } = await import('../../shared/blob/azureBlobStore');
  return AzureBlobStore.fromConnectionString(spec.connectionString, spec.container);
}

async function runStep(spec: StepSpec): Promise<StepReport> {
  const store = await storeOf(spec.store);
  const keys = localKeyFileProvider(spec.keyFile);
  const selfMaxRssBytes = (): number => process.resourceUsage().maxRSS * 1024;
  if (spec.op === 'init') {
    const t = performance.now();
    await createVault(store, keys);
    return { op: 'init', openMs: 0, opMs: performance.now() - t, selfMaxRssBytes: selfMaxRssBytes() };
  }
  let t = performance.now();
  const vault = await openVault(store, keys);
  const openMs = performance.now() - t;
  if (spec.op === 'backup') {
    const changedRanges =
      spec.changeFile === undefined
        ? undefined
        : recordedChangedRanges(await readRecordedChange(spec.changeFile));
    t = performance.now();
    const r = await backup(
      vault,
      { kind: 'diskImage', path: spec.image },
      {
        ...(spec.parentPointId === undefined ? {} : { parentPointId: spec.parentPointId }),
        ...(changedRanges === undefined ? {} : { changedRanges }),
      },
    );
    return {
      op: 'backup',
      openMs,
      opMs: performance.now() - t,
      selfMaxRssBytes: selfMaxRssBytes(),
      pointId: r.pointId,
      bytesRead: r.bytesRead,
      bytesNewStored: r.bytesNewStored,
      blocksNew: r.blocksNew,
      blocksDedup: r.blocksDedup,
      blocksZero: r.blocksZero,
      packsWritten: r.packsWritten,
    };
  }
  t = performance.now();
  const r = await restore(vault, spec.pointId, spec.target);
  return {
    op: 'restore',
    openMs,
    opMs: performance.now() - t,
    selfMaxRssBytes: selfMaxRssBytes(),
    bytesWritten: r.bytesWritten,
  };
}

async function main(): Promise<void> {
  const raw = process.argv[2];
  if (raw === undefined) throw new Error('usage: strongboxStep.js <StepSpec JSON>');
  const report = await runStep(JSON.parse(raw) as StepSpec);
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
