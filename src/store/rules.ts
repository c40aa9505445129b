/**
 * @module
 * The rules of the store contract (src/core/store.ts) that every store applies alike, written once. Memory
 * applies them as they are; where a store must express one in its own dialect (a Drizzle SQL condition, a
 * DynamoDB condition expression), it keeps one named definition next to the store that uses the constants here
 * and says which function it mirrors.
 */
import { InvalidArgumentError } from '../core/errors'
import type { RunRecord, RunStatus, StepExecution, StepStatus } from '../core/model'
import { MAX_PAGE_SIZE, MAX_TAG_FILTERS } from '../core/store'

/** Statuses a run can be claimed in (and a sweeper looks at): PAUSED and terminal runs never are. */
export const CLAIMABLE_RUN_STATUSES: readonly RunStatus[] = ['PENDING', 'RUNNING']

/** Step statuses `cancelRun` turns into CANCELLED: every step that has not ended. */
export const OPEN_STEP_STATUSES: readonly StepStatus[] = ['PENDING', 'RUNNING', 'RETRYING']

/** The run fields the claim rule reads. */
export type ClaimFields = Pick<RunRecord, 'status' | 'leaseOwner' | 'leaseExpiresAt' | 'wakeAt'>

export function isClaimableStatus(status: RunStatus): boolean {
  return CLAIMABLE_RUN_STATUSES.includes(status)
}

/**
 * Whether `owner` may claim the run at `now` (`WorkflowStore.claimRun`): PENDING or RUNNING; lease absent,
 * expired (`leaseExpiresAt <= now`) or already `owner`'s; `wakeAt` absent or due. With `owner` null: whether
 * anybody may, which is what makes a run due for a sweeper (`WorkflowStore.listDueRuns`). Concurrency slots
 * are a further condition, checked by each store where it claims.
 */
export function isClaimable(run: ClaimFields, owner: string | null, now: number): boolean {
  return (
    isClaimableStatus(run.status) &&
    (run.leaseOwner === null ||
      run.leaseExpiresAt === null ||
      run.leaseExpiresAt <= now ||
      (owner !== null && run.leaseOwner === owner)) &&
    (run.wakeAt === null || run.wakeAt <= now)
  )
}

/**
 * The instant a PENDING or RUNNING run becomes claimable by anybody: when its lease expires or its wake time
 * comes, whichever is later (absent counts as 0). What the due indexes sort by.
 */
export function dueTime(leaseExpiresAt: number | null, wakeAt: number | null): number {
  return Math.max(leaseExpiresAt ?? 0, wakeAt ?? 0)
}

/**
 * The earliest instant at which `isClaimable(run, null, ·)` holds (`WorkflowStore.nextDueAt`): when the lease of
 * its owner expires or its wake time comes, whichever is later; null for a PAUSED or terminal run, never due.
 */
export function dueInstant(run: ClaimFields): number | null {
  if (!isClaimableStatus(run.status)) return null
  return dueTime(run.leaseOwner === null ? null : run.leaseExpiresAt, run.wakeAt)
}

/** Page sizes outside 1..MAX_PAGE_SIZE are refused rather than clamped. @throws InvalidArgumentError */
export function checkPageLimit(limit: number): number {
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE_SIZE) {
    throw new InvalidArgumentError(`limit must be an integer from 1 to ${MAX_PAGE_SIZE}, got ${limit}`)
  }
  return limit
}

/** The tags of a {@link RunFilter} as (key, value) pairs in key order; refuses more than MAX_TAG_FILTERS. */
export function checkTagFilter(tags: Readonly<Record<string, string>> | undefined): (readonly [string, string])[] {
  const pairs = Object.entries(tags ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
  if (pairs.length > MAX_TAG_FILTERS) {
    throw new InvalidArgumentError(`at most ${MAX_TAG_FILTERS} tags may be filtered on, got ${pairs.length}`)
  }
  return pairs
}

/** Whether a run carries every (key, value) pair. */
export function hasTags(run: Pick<RunRecord, 'tags'>, pairs: readonly (readonly [string, string])[]): boolean {
  return pairs.every(([key, value]) => Object.hasOwn(run.tags, key) && run.tags[key] === value)
}

/**
 * The checks every store makes on `createRun`'s steps before writing anything: records of that run, once each,
 * none finished (a finished step has an output, which a new run cannot have yet).
 * @throws InvalidArgumentError
 */
export function checkNewRunSteps(run: RunRecord, steps: readonly StepExecution[]): void {
  const seen = new Set<string>()
  for (const step of steps) {
    checkStepOfRun(run.runId, step)
    if (seen.has(step.stepId)) throw new InvalidArgumentError(`run ${run.runId} is created with step ${step.stepId} twice`)
    if (step.status === 'COMPLETED' || step.status === 'SKIPPED') {
      throw new InvalidArgumentError(`step ${step.stepId} of a new run cannot be ${step.status}`)
    }
    seen.add(step.stepId)
  }
}

/** The check every store makes on a commit's steps before writing anything: records of the leased run. */
export function checkCommitSteps(runId: string, steps: readonly StepExecution[]): void {
  for (const step of steps) checkStepOfRun(runId, step)
}

function checkStepOfRun(runId: string, step: StepExecution): void {
  if (step.runId !== runId) throw new InvalidArgumentError(`step ${step.stepId} belongs to run ${step.runId}, not ${runId}`)
}
