/**
 * @module
 * A store wrapper that counts calls per method, so tests and benchmarks measure the round-trip budget
 * (DESIGN "Round trips are the edge's main cost") instead of assuming it.
 */
import type { WorkflowStore } from '../../src/core/store'

export interface CountingStore {
  /** Behaves exactly like the wrapped store; every method call is counted before it is forwarded. */
  readonly store: WorkflowStore
  /** Calls so far by method name; methods never called are absent. */
  readonly calls: Record<string, number>
  /** Sum of all calls. */
  total(): number
  /** Forgets every count, e.g. after a test's setup phase. */
  reset(): void
}

/** Wraps `inner` so that every method call is counted in `calls`. */
export function countingStore(inner: WorkflowStore): CountingStore {
  const calls: Record<string, number> = {}
  const store = new Proxy(inner, {
    get(target, prop) {
      const value: unknown = Reflect.get(target, prop)
      if (typeof value !== 'function' || typeof prop !== 'string') return value
      return (...args: unknown[]) => {
        calls[prop] = (calls[prop] ?? 0) + 1
        // Call on the real store, not the proxy: stores keep their state in #private fields.
        return (value as (...a: unknown[]) => unknown).apply(target, args)
      }
    },
  })
  return {
    store,
    calls,
    total: () => Object.values(calls).reduce((sum, n) => sum + n, 0),
    reset: () => {
      for (const key of Object.keys(calls)) delete calls[key]
    },
  }
}
