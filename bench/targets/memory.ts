/**
 * @module
 * The in-process store: what the engine itself costs, with no I/O. In both durability modes (issue #18): with
 * no round trips to save, the pipelined row shows what that mode's bookkeeping costs the engine.
 */
import { MemoryStore } from '../../src/store/memory/memory-store'
import type { Durability } from '../../src/core/step-config'
import { engineSession } from './engine-session'
import { DEFAULT_BUDGET, type Target } from './target'

function memoryTargetOf(durability: Durability): Target {
  const pipelined = durability === 'pipelined'
  return {
    id: `memory${pipelined ? '-pipelined' : ''}`,
    title: `memory${pipelined ? ', pipelined' : ''}`,
    // W4 and W5 have the default mode only.
    workloads: pipelined ? ['W1', 'W2', 'W3'] : ['W1', 'W2', 'W3', 'W4', 'W5'],
    budget: { ...DEFAULT_BUDGET, warmupMs: 1_000 },
    // A fresh store per repetition: the memory store keeps every run, and a heap that grows over 10⁴ runs
    // would measure the garbage collector's old generation rather than the engine.
    open: async () => engineSession({ store: new MemoryStore(), freshStore: async () => new MemoryStore(), durability }),
  }
}

export const memoryTarget = memoryTargetOf('step')
export const memoryPipelinedTarget = memoryTargetOf('pipelined')
