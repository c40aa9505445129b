/**
 * @module
 * In-process store for tests and development. Everything lives in maps; deep copies on the way in
 * and out, so no caller ever shares an object with stored state (docs/decisions.md#memory-store-copies). No
 * method awaits before it has finished writing, so each one is atomic with respect to every other call on the
 * same store.
 */
import {
  EventAlreadyDeliveredError,
  EventNotFoundError,
  LeaseLostError,
  RunAlreadyExistsError,
  RunAlreadyFinishedError,
  RunNotFoundError,
  RunStateConflictError,
  StateNotFoundError,
  StepExecutionNotFoundError,
  StepOutputNotFoundError,
  StoreUnavailableError,
} from '../../core/errors'
import { awaitedEventName, isTerminalRunStatus } from '../../core/model'
import type { DeliveredEvent, Json, RunRecord, StepExecution, WebhookDelivery } from '../../core/model'
import { decodeCursor, encodeCursor } from '../cursor'
import { DEFAULT_PAGE_SIZE, byExecutionIndex } from '../../core/store'
import { checkCommitSteps, checkNewRunSteps, checkPageLimit, checkTagFilter, dueInstant, dueTime, hasTags, isClaimable } from '../rules'
import type {
  Claim,
  CommitResult,
  CreateRunResult,
  Lease,
  RunCommit,
  RunFilter,
  RunPage,
  RunTransition,
  SchedulePatch,
  ScheduleState,
  StoreKind,
  WorkflowStore,
} from '../../core/store'

type Mutable<T> = { -readonly [K in keyof T]: T[K] }

/** A {@link WorkflowStore} held in memory; state is lost with the process. */
export class MemoryStore implements WorkflowStore {
  readonly kind: StoreKind = 'memory'

  readonly #runs = new Map<string, RunRecord>()
  readonly #steps = new Map<string, Map<string, StepExecution>>()
  readonly #state = new Map<string, Map<string, Json>>()
  readonly #events = new Map<string, Map<string, DeliveredEvent>>()
  /** `workflowId \0 idempotencyKey` → runId; the uniqueness index of idempotent starts. */
  readonly #idempotency = new Map<string, string>()
  readonly #schedules = new Map<string, ScheduleState>()
  /** `JSON [key, value]` → ids of the runs carrying that tag; what `listRuns` with tags starts from. */
  readonly #byTag = new Map<string, Set<string>>()
  #closed = false

  async createRun(run: RunRecord, steps: readonly StepExecution[] = []): Promise<CreateRunResult> {
    this.#open()
    checkNewRunSteps(run, steps)
    const idemKey = run.idempotencyKey === null ? null : idempotencyIndexKey(run.workflowId, run.idempotencyKey)
    if (idemKey !== null) {
      const existingId = this.#idempotency.get(idemKey)
      const existing = existingId === undefined ? undefined : this.#runs.get(existingId)
      if (existing) return { run: copy(existing), created: false }
    }
    if (this.#runs.has(run.runId)) throw new RunAlreadyExistsError(run.runId)
    const stored = copy(run)
    this.#runs.set(stored.runId, stored)
    if (steps.length > 0) this.#steps.set(stored.runId, new Map(steps.map((step) => [step.stepId, copy(step)])))
    if (idemKey !== null) this.#idempotency.set(idemKey, stored.runId)
    for (const tag of Object.entries(stored.tags)) {
      const key = JSON.stringify(tag)
      const ids = this.#byTag.get(key) ?? new Set<string>()
      this.#byTag.set(key, ids.add(stored.runId))
    }
    return { run: copy(stored), created: true }
  }

  async getRun(runId: string): Promise<RunRecord> {
    this.#open()
    return copy(this.#requireRun(runId))
  }

  async listRuns(filter: RunFilter = {}): Promise<RunPage> {
    this.#open()
    const limit = checkPageLimit(filter.limit ?? DEFAULT_PAGE_SIZE)
    const after = filter.cursor == null ? null : decodeCursor(filter.cursor)
    const tags = checkTagFilter(filter.tags)
    // With tags, the candidates are the smallest tag's runs, not every run.
    const candidates =
      tags.length === 0
        ? [...this.#runs.values()]
        : [...tags.map((tag) => this.#byTag.get(JSON.stringify(tag)) ?? new Set<string>()).reduce((a, b) => (b.size < a.size ? b : a))]
            .map((runId) => this.#runs.get(runId))
            .filter((run): run is RunRecord => run !== undefined && hasTags(run, tags))
    const matching = candidates
      .filter(
        (run) =>
          (filter.workflowId === undefined || run.workflowId === filter.workflowId) &&
          (filter.status === undefined || run.status === filter.status) &&
          (filter.resourceId === undefined || run.resourceId === filter.resourceId) &&
          (after === null ||
            run.createdAt < after.createdAt ||
            (run.createdAt === after.createdAt && run.runId < after.runId)),
      )
      .sort(newestFirst)
    const runs = matching.slice(0, limit)
    const last = runs.at(-1)
    // Keyset cursor (not an offset), so runs created between pages neither repeat nor shift later pages.
    const nextCursor =
      matching.length > limit && last ? encodeCursor({ createdAt: last.createdAt, runId: last.runId }) : null
    return { runs: runs.map((run) => copy(run)), nextCursor }
  }

  async claimRun(runId: string, owner: string, now: number, leaseMs: number): Promise<Claim | null> {
    this.#open()
    const run = this.#requireRun(runId)
    if (!isClaimable(run, owner, now) || !this.#slotAvailable(run, now)) return null
    const expiresAt = now + leaseMs
    const claimed: RunRecord = { ...run, leaseOwner: owner, leaseExpiresAt: expiresAt }
    this.#runs.set(runId, claimed)
    return { lease: { runId, owner, expiresAt }, run: copy(claimed), steps: this.#sortedSteps(runId) }
  }

  async commit(lease: Lease, commit: RunCommit): Promise<CommitResult> {
    this.#open()
    const run = this.#requireRun(lease.runId)
    // Terminal first: a cancel also clears the lease, and the owner must learn that the run is over, not
    // merely that it lost the lease.
    if (isTerminalRunStatus(run.status)) throw new RunAlreadyFinishedError(run.runId, run.status)
    if (run.leaseOwner === null || run.leaseOwner !== lease.owner) throw new LeaseLostError(run.runId)
    checkCommitSteps(lease.runId, commit.steps)
    // Every check is done: from here on nothing can throw, so the commit is all or nothing.
    const next: Mutable<RunRecord> = { ...run, updatedAt: commit.now }
    const patch = copy(commit.run)
    // RUNNING only starts a PENDING run: an operator's pause that came meanwhile stands.
    if (patch.status !== undefined && !(patch.status === 'RUNNING' && run.status !== 'PENDING')) next.status = patch.status
    if (patch.progress !== undefined) next.progress = patch.progress
    if (patch.output !== undefined) next.output = patch.output
    if (patch.error !== undefined) next.error = patch.error
    if (patch.startedAt !== undefined) next.startedAt = patch.startedAt
    if (patch.completedAt !== undefined) next.completedAt = patch.completedAt
    if (patch.wakeAt !== undefined) next.wakeAt = patch.wakeAt
    if (patch.waitingFor !== undefined) next.waitingFor = patch.waitingFor
    // An event delivered before this commit finds no waitingFor to wake (see the port's rules): wake it here.
    const awaited = awaitedEventName(next.waitingFor)
    const awaitedEventDelivered =
      awaited !== null && next.wakeAt !== null && next.wakeAt > commit.now && this.#events.get(run.runId)?.has(awaited) === true
    if (awaitedEventDelivered) next.wakeAt = commit.now
    if (commit.leaseExpiresAt === null) {
      next.leaseOwner = null
      next.leaseExpiresAt = null
    } else {
      next.leaseExpiresAt = commit.leaseExpiresAt
    }
    const steps = this.#stepsOf(lease.runId)
    for (const step of commit.steps) steps.set(step.stepId, copy(step))
    this.#runs.set(run.runId, next)
    return {
      lease: { runId: lease.runId, owner: lease.owner, expiresAt: commit.leaseExpiresAt ?? lease.expiresAt },
      status: next.status,
      awaitedEventDelivered,
    }
  }

  async listDueWebhooks(now: number, limit: number): Promise<string[]> {
    this.#open()
    checkPageLimit(limit)
    const due = (run: RunRecord) => (run.webhook?.deliveredAt === null ? run.webhook.nextAttemptAt : null)
    return [...this.#runs.values()]
      .filter((run) => isTerminalRunStatus(run.status) && (due(run) ?? Infinity) <= now)
      .sort((a, b) => (due(a) as number) - (due(b) as number) || (a.runId < b.runId ? -1 : a.runId > b.runId ? 1 : 0))
      .slice(0, limit)
      .map((run) => run.runId)
  }

  async recordWebhookAttempt(runId: string, expectedAttempts: number, next: WebhookDelivery): Promise<boolean> {
    this.#open()
    const run = this.#runs.get(runId)
    if (!run) throw new RunNotFoundError(runId)
    if (run.webhook?.attempts !== expectedAttempts) return false
    this.#runs.set(runId, { ...run, webhook: { ...next } })
    return true
  }

  async listDueRuns(now: number, limit: number): Promise<string[]> {
    this.#open()
    checkPageLimit(limit)
    return [...this.#runs.values()]
      .filter((run) => isClaimable(run, null, now))
      .sort(
        (a, b) =>
          dueTime(a.leaseExpiresAt, a.wakeAt) - dueTime(b.leaseExpiresAt, b.wakeAt) ||
          a.createdAt - b.createdAt ||
          (a.runId < b.runId ? -1 : a.runId > b.runId ? 1 : 0),
      )
      .slice(0, limit)
      .map((run) => run.runId)
  }

  async nextDueAt(): Promise<number | null> {
    this.#open()
    let next: number | null = null
    for (const run of this.#runs.values()) {
      const due = dueInstant(run)
      if (due !== null && (next === null || due < next)) next = due
    }
    return next
  }

  async cancelRun(runId: string, now: number): Promise<RunRecord> {
    this.#open()
    const run = this.#requireRun(runId)
    if (isTerminalRunStatus(run.status)) throw new RunAlreadyFinishedError(runId, run.status)
    const cancelled: RunRecord = {
      ...run,
      status: 'CANCELLED',
      cancelRequestedAt: now,
      completedAt: now,
      updatedAt: now,
      leaseOwner: null,
      leaseExpiresAt: null,
    }
    const steps = this.#steps.get(runId)
    if (steps) {
      for (const [stepId, step] of steps) {
        if (step.status === 'PENDING' || step.status === 'RUNNING' || step.status === 'RETRYING') {
          steps.set(stepId, { ...step, status: 'CANCELLED', completedAt: now, updatedAt: now })
        }
      }
    }
    this.#runs.set(runId, cancelled)
    return copy(cancelled)
  }

  async transitionRun(runId: string, transition: RunTransition): Promise<RunRecord> {
    this.#open()
    const run = this.#requireRun(runId)
    if (isTerminalRunStatus(run.status)) throw new RunAlreadyFinishedError(runId, run.status)
    if (!transition.from.includes(run.status)) {
      throw new RunStateConflictError(runId, run.status, `run ${runId} is ${run.status}, not ${transition.from.join(' or ')}`)
    }
    const next: RunRecord = { ...run, status: transition.to, updatedAt: transition.now }
    this.#runs.set(runId, next)
    return copy(next)
  }

  async deliverEvent(runId: string, name: string, payload: Json, now: number): Promise<RunRecord> {
    this.#open()
    const run = this.#requireRun(runId)
    if (isTerminalRunStatus(run.status)) throw new RunAlreadyFinishedError(runId, run.status)
    let events = this.#events.get(runId)
    if (!events) {
      events = new Map()
      this.#events.set(runId, events)
    }
    if (events.has(name)) throw new EventAlreadyDeliveredError(runId, name)
    events.set(name, { name, payload: copy(payload), receivedAt: now })
    const waiting = awaitedEventName(run.waitingFor) === name
    const next: RunRecord = waiting ? { ...run, wakeAt: now, updatedAt: now } : run
    this.#runs.set(runId, next)
    return copy(next)
  }

  async loadEvent(runId: string, name: string): Promise<DeliveredEvent> {
    this.#open()
    const event = this.#events.get(runId)?.get(name)
    if (!event) throw new EventNotFoundError(runId, name)
    return copy(event)
  }

  async linkRetry(runId: string, retriedBy: string, now: number): Promise<RunRecord> {
    this.#open()
    const run = this.#requireRun(runId)
    if (run.retriedBy !== null) {
      throw new RunStateConflictError(runId, run.status, `run ${runId} was already retried by ${run.retriedBy}`)
    }
    const next: RunRecord = { ...run, retriedBy, updatedAt: now }
    this.#runs.set(runId, next)
    return copy(next)
  }

  async getStepExecution(runId: string, stepId: string): Promise<StepExecution> {
    this.#open()
    const step = this.#steps.get(runId)?.get(stepId)
    if (!step) throw new StepExecutionNotFoundError(runId, stepId)
    return copy(step)
  }

  async listStepExecutions(runId: string): Promise<StepExecution[]> {
    this.#open()
    return this.#sortedSteps(runId)
  }

  async loadStepOutput(runId: string, stepId: string): Promise<Json> {
    this.#open()
    // The step record is the source of truth: its output counts only once the step has one (model.ts).
    const step = this.#steps.get(runId)?.get(stepId)
    if (!step || (step.status !== 'COMPLETED' && step.status !== 'SKIPPED')) {
      throw new StepOutputNotFoundError(runId, stepId)
    }
    return copy(step.output)
  }

  async saveState(runId: string, key: string, value: Json, _now: number): Promise<void> {
    this.#open()
    let state = this.#state.get(runId)
    if (!state) {
      state = new Map()
      this.#state.set(runId, state)
    }
    state.set(key, copy(value))
  }

  async loadState(runId: string, key: string): Promise<Json> {
    this.#open()
    const state = this.#state.get(runId)
    if (!state?.has(key)) throw new StateNotFoundError(runId, key)
    return copy(state.get(key) as Json)
  }

  async getAllState(runId: string): Promise<Record<string, Json>> {
    this.#open()
    return copy(Object.fromEntries(this.#state.get(runId) ?? []))
  }

  async deleteState(runId: string, key: string): Promise<void> {
    this.#open()
    this.#state.get(runId)?.delete(key)
  }

  async deleteRun(runId: string): Promise<void> {
    this.#open()
    this.#remove(this.#requireRun(runId))
  }

  async deleteFinishedRuns(before: number, limit: number): Promise<number> {
    this.#open()
    checkPageLimit(limit)
    const doomed = [...this.#runs.values()]
      .filter((run) => isTerminalRunStatus(run.status) && run.completedAt !== null && run.completedAt < before)
      // Oldest first, so repeated sweeps with a small limit drain the backlog in completion order.
      .sort((a, b) => (a.completedAt ?? 0) - (b.completedAt ?? 0) || (a.runId < b.runId ? -1 : 1))
      .slice(0, limit)
    for (const run of doomed) this.#remove(run)
    return doomed.length
  }

  async listScheduleStates(): Promise<ScheduleState[]> {
    this.#open()
    return [...this.#schedules.values()].sort((a, b) => (a.workflowId < b.workflowId ? -1 : a.workflowId > b.workflowId ? 1 : 0)).map((s) => ({ ...s }))
  }

  async updateScheduleState(workflowId: string, patch: SchedulePatch, now: number): Promise<ScheduleState> {
    this.#open()
    const current = this.#schedules.get(workflowId)
    const last = current?.lastTickAt ?? null
    const next: ScheduleState = {
      workflowId,
      paused: patch.paused ?? current?.paused ?? false,
      lastTickAt: patch.lastTickAt === undefined || (last !== null && last >= patch.lastTickAt) ? last : patch.lastTickAt,
      updatedAt: now,
    }
    this.#schedules.set(workflowId, next)
    return { ...next }
  }

  async close(): Promise<void> {
    this.#closed = true
  }

  #open(): void {
    if (this.#closed) throw new StoreUnavailableError('memory store is closed')
  }

  #requireRun(runId: string): RunRecord {
    const run = this.#runs.get(runId)
    if (!run) throw new RunNotFoundError(runId)
    return run
  }

  /** Per-resource concurrency (claimRun's contract): a free slot, and no older run of the key still waiting. */
  #slotAvailable(run: RunRecord, now: number): boolean {
    if (run.concurrencyLimit === null || run.resourceId === null || holdsSlot(run, now)) return true
    let holders = 0
    for (const other of this.#runs.values()) {
      if (other.runId === run.runId || other.workflowId !== run.workflowId || other.resourceId !== run.resourceId) continue
      if (holdsSlot(other, now)) holders++
      else if (other.status === 'PENDING' && newestFirst(other, run) > 0) return false
    }
    return holders < run.concurrencyLimit
  }

  #stepsOf(runId: string): Map<string, StepExecution> {
    let steps = this.#steps.get(runId)
    if (!steps) {
      steps = new Map()
      this.#steps.set(runId, steps)
    }
    return steps
  }

  #sortedSteps(runId: string): StepExecution[] {
    return [...(this.#steps.get(runId)?.values() ?? [])].sort(byExecutionIndex).map((step) => copy(step))
  }

  #remove(run: RunRecord): void {
    this.#runs.delete(run.runId)
    this.#steps.delete(run.runId)
    this.#state.delete(run.runId)
    this.#events.delete(run.runId)
    for (const tag of Object.entries(run.tags)) this.#byTag.get(JSON.stringify(tag))?.delete(run.runId)
    // Free the key only if it still points here: a deleted run must not answer for a later start.
    if (run.idempotencyKey !== null) {
      const key = idempotencyIndexKey(run.workflowId, run.idempotencyKey)
      if (this.#idempotency.get(key) === run.runId) this.#idempotency.delete(key)
    }
  }
}

function idempotencyIndexKey(workflowId: string, idempotencyKey: string): string {
  return `${workflowId}\u0000${idempotencyKey}`
}

function newestFirst(a: RunRecord, b: RunRecord): number {
  if (a.createdAt !== b.createdAt) return b.createdAt - a.createdAt
  return a.runId < b.runId ? 1 : a.runId > b.runId ? -1 : 0
}

/** A run holds a concurrency slot while it executes or may: RUNNING, PAUSED, or PENDING under a live lease. */
function holdsSlot(run: RunRecord, now: number): boolean {
  return (
    run.status === 'RUNNING' ||
    run.status === 'PAUSED' ||
    (run.status === 'PENDING' && run.leaseOwner !== null && (run.leaseExpiresAt ?? 0) > now)
  )
}

/**
 * Deep copy of plain JSON-shaped data (every record this store holds). A hand-written walk: structuredClone
 * cost 15 % of a 10-step run's CPU profile on this store, and records never hold Dates, Maps or cycles.
 */
function copy<T>(value: T): T {
  if (typeof value !== 'object' || value === null) return value
  if (Array.isArray(value)) return value.map(copy) as T
  const out: Record<string, unknown> = {}
  for (const key in value) out[key] = copy((value as Record<string, unknown>)[key])
  return out as T
}
