import { memStateStore } from '../../shared/state/memStateStore';
import { describeStateStoreConformance } from './stateStoreConformance';

describeStateStoreConformance('memStateStore', () => Promise.resolve(memStateStore()));
