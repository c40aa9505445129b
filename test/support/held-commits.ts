/**
 * @module
 * A store whose commits can be held at a gate the test opens by hand, so which step completions share a commit is
 * decided by the test, not by timing; or made slower than any step that does not wait on I/O; and which can "die" like
 * a killed process: every call from then on, and every commit still held, fails without reaching the store.
 */
import type { CommitResult, WorkflowStore } from '../../src/core/store'
import { onCommit } from './commit-hook'

export interface HeldCommits {
  /** Behaves like the wrapped store, except that commits wait while the gate is closed. */
  readonly store: WorkflowStore
  /** Closes the gate: commits from now on wait until {@link release} (or fail at {@link kill}). */
  hold(): void
  /** Opens the gate: held commits go on, in the order they arrived, and later ones pass straight through. */
  release(): void
  /**
   * Forwards each commit only after a macrotask: a store slower than steps that settle in microtasks, without a gate
   * to open. A commit the process dies meanwhile is refused as a held one.
   */
  slow(): void
  /** Commits waiting at the gate now. */
  held(): number
  /** The process "dies": held commits and every later call fail with `Error('process killed')`, reaching nothing. */
  kill(): void
}

interface Waiting {
  readonly go: () => void
  readonly fail: (err: Error) => void
}

/** Wraps `inner` with a commit gate, open at first. */
export function heldCommits(inner: WorkflowStore): HeldCommits {
  let closed = false
  let slow = false
  let dead = false
  const waiting: Waiting[] = []
  const killed = () => new Error('process killed')
  const gated = onCommit(inner, async (lease, commit, next) => {
    if (slow) await new Promise((r) => setTimeout(r, 0))
    if (dead) throw killed()
    if (!closed) return next(lease, commit)
    return new Promise<CommitResult>((resolve, reject) => {
      waiting.push({ go: () => void next(lease, commit).then(resolve, reject), fail: reject })
    })
  })
  const store = new Proxy(gated, {
    get(target, prop) {
      const value: unknown = Reflect.get(target, prop)
      if (typeof value !== 'function') return value
      return (...args: unknown[]) => (dead ? Promise.reject(killed()) : (value as (...a: unknown[]) => unknown).apply(target, args))
    },
  })
  return {
    store,
    hold: () => {
      closed = true
    },
    release: () => {
      closed = false
      for (const w of waiting.splice(0)) w.go()
    },
    slow: () => {
      slow = true
    },
    held: () => waiting.length,
    kill: () => {
      dead = true
      for (const w of waiting.splice(0)) w.fail(killed())
    },
  }
}
