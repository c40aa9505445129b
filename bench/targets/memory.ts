/** @module The in-process store: what the engine itself costs, with no I/O. */
import { MemoryStore } from '../../src/store/memory/memory-store'
import { engineSession } from './engine-session'
import { DEFAULT_BUDGET, type Target } from './target'

export const memoryTarget: Target = {
  id: 'memory',
  title: 'memory',
  workloads: ['W1', 'W2', 'W3', 'W4', 'W5'],
  budget: { ...DEFAULT_BUDGET, warmupMs: 1_000 },
  // A fresh store per repetition: the memory store keeps every run, and a heap that grows over 10⁴ runs
  // would measure the garbage collector's old generation rather than the engine.
  open: async () => engineSession({ store: new MemoryStore(), freshStore: async () => new MemoryStore() }),
}
