// The conformance suite against the in-memory adapter, and against the fault-injecting and retrying
// wrappers stacked on it (STYLE.md §7: one suite for memory, Azurite and the faulty adapter).
import { FaultyBlobStore } from '../../shared/blob/faultyBlobStore';
import { MemBlobStore } from '../../shared/blob/memBlobStore';
import { RetryingBlobStore } from '../../shared/blob/retryingBlobStore';
import { describeBlobStoreConformance } from './blobStoreConformance';

describeBlobStoreConformance('memBlobStore', () => Promise.resolve(new MemBlobStore()));

describeBlobStoreConformance('faultyBlobStore (no rules) over memBlobStore', () =>
  Promise.resolve(new FaultyBlobStore(new MemBlobStore())),
);

// 20% of non-writer calls fail with TRANSIENT before running (seed 2024); the retrying wrapper must
// hide every one of them. Faults after the call ran are excluded: their retries are ambiguous by
// design (see retryingBlobStore.ts) and are tested separately in faultyBlobStore.test.ts.
describeBlobStoreConformance('retryingBlobStore over faultyBlobStore (20% transient, seed 2024)', () =>
  Promise.resolve(
    new RetryingBlobStore(
      new FaultyBlobStore(
        new MemBlobStore(),
        [
          {
            ops: ['put', 'get', 'getRange', 'stat', 'delete', 'list', 'openWriter'],
            probability: 0.2,
            fault: { kind: 'transient' },
          },
        ],
        2024,
      ),
      { maxAttempts: 12, sleep: () => Promise.resolve() },
    ),
  ),
);
