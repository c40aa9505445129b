/**
 * @module
 * A store whose `commit` passes through a hook first: to crash at a chosen commit, record leases, or make another
 * writer act at the exact moment before a commit lands (forcing an interleaving instead of hoping for it).
 */
import type { CommitResult, Lease, RunCommit, WorkflowStore } from '../../src/core/store'

export type Commit = (lease: Lease, commit: RunCommit) => Promise<CommitResult>

/** `inner` with its `commit` passed through `hook` (given the real one as `next`); every other call forwarded. */
export function onCommit(
  inner: WorkflowStore,
  hook: (lease: Lease, commit: RunCommit, next: Commit) => Promise<CommitResult>,
): WorkflowStore {
  const next: Commit = (lease, commit) => inner.commit(lease, commit)
  return new Proxy(inner, {
    get(target, prop) {
      const value: unknown = Reflect.get(target, prop)
      if (typeof value !== 'function') return value
      if (prop === 'commit') return (lease: Lease, commit: RunCommit) => hook(lease, commit, next)
      // Call on the real store, not the proxy: stores keep their state in #private fields.
      return (...args: unknown[]) => (value as (...a: unknown[]) => unknown).apply(target, args)
    },
  })
}
