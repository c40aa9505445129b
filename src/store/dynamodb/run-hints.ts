/**
 * @module
 * What one store instance last saw of the runs it claimed or committed: their status, their concurrency slot
 * item and whether they hold a place in it. Only guesses that pick the first write to try (a commit's status
 * condition, a claim straight to the slot transaction, a terminal commit that releases the slot in the same
 * transaction); every such write is conditional on its guess, and a wrong one is corrected from the refused
 * write's old item at the cost of one request. Bounded; never needed for correctness.
 */
import type { RunStatus } from '../../core/model'
import type { SlotRef } from './concurrency-slots'

export interface RunHint {
  readonly status: RunStatus | null
  readonly slot: SlotRef | null
  readonly held: boolean
}

/** Runs a store remembers hints about; the least recently remembered are forgotten beyond this. */
export const MAX_HINTS = 10_000

export class RunHints {
  readonly #hints = new Map<string, RunHint>()
  readonly #capacity: number

  constructor(capacity = MAX_HINTS) {
    this.#capacity = capacity
  }

  get(runId: string): RunHint | undefined {
    return this.#hints.get(runId)
  }

  /** The slot this store saw `runId` hold, if any. */
  heldSlot(runId: string): SlotRef | null {
    const hint = this.#hints.get(runId)
    return hint !== undefined && hint.held ? hint.slot : null
  }

  remember(runId: string, hint: RunHint): void {
    // Re-inserted, so Map order is the order of remembering and the first key is the one to forget.
    this.#hints.delete(runId)
    if (this.#hints.size >= this.#capacity) {
      const oldest = this.#hints.keys().next().value
      if (oldest !== undefined) this.#hints.delete(oldest)
    }
    this.#hints.set(runId, hint)
  }

  /** Updates the status of a remembered run; a run this store knows nothing of stays unknown. */
  rememberStatus(runId: string, status: RunStatus): void {
    const hint = this.#hints.get(runId)
    if (hint !== undefined) this.remember(runId, { ...hint, status })
  }

  forget(runId: string): void {
    this.#hints.delete(runId)
  }
}
