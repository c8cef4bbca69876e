import { MemoryStore } from '../../src/store/memory.ts';
import { runStoreSpec } from './spec.ts';

runStoreSpec('memory', () => new MemoryStore());
