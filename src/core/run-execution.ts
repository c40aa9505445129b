/**
 * @module
 * Drives one claimed run from whatever is persisted to a terminal state, or until it must yield (a long wait,
 * a pause, the invocation's budget, shutdown). A fresh run and a resumed run take the same path: finished
 * steps are never executed again, and their outputs feed their successors.
 *
 * Round trips: every step boundary is one fenced `commit` that records the finished step *and* marks the
 * steps it unblocks as started, so an N-step sequential run costs N + 1 commits (the first marks the entry
 * steps started; the last also completes the run and releases the lease). Marking an attempt started before
 * its handler runs is what lets a resumed run tell an interrupted attempt (docs/decisions.md#interrupted-attempts).
 * Completions that settle while a commit is awaited go out together in the next one.
 *
 * Durability modes (StepConfig.durability, README "Durability modes"): under `'step'` each boundary's commit is
 * awaited before the steps it starts run. Under `'pipelined'` they start at once and the commit goes out behind
 * them (`#commitBehind`), one macrotask later so that steps finishing without I/O join it; at most one commit is in
 * flight, fenced by the lease like any other, and whatever finishes meanwhile goes out in the next, so a chain of
 * fast steps costs about 2–3 store calls, plus one per PIPELINED_RECORDS_MAX records. The terminal commit, a yield and a lease renewal wait
 * for the commit in flight (`#settleCommits`); a failed one stops the execution as an awaited one would. An
 * execution's first commit, and every boundary of an execution that found an interrupted attempt, are awaited
 * (`#mayPipeline` says why).
 *
 * Waits (retry backoff, durable sleep, wait-for-event) persist their deadline as the step's `wakeAt`. Short
 * ones are slept inline; otherwise the run commits `wakeAt` (and `waitingFor`), releases its lease and
 * returns, and the sweeper resumes it when due — or at once when an awaited event is delivered. When nothing else
 * runs, the deadline goes out in that yield commit, not in one of its own.
 *
 * This module schedules; one attempt is `attempt.ts`, a commit's retries `commit-retry.ts`, and how the loop
 * waits and is woken `loop-wake.ts`.
 */
import { checkWait, runAttempt, type AttemptScope, type Outcome } from './attempt'
import { childEventName, childRunId } from './child-run'
import type { Clock } from './clock'
import { commitWithRetries } from './commit-retry'
import { GorkflowError, isGorkflowError, toError, type ErrorCode } from './errors'
import { IndexHeap } from './index-heap'
import { boundedErrorDetails, boundedErrorMessage, checkJsonWithin, type PayloadLimits } from './limits'
import { isLevelEnabled, type LogFields, type Logger } from './logger'
import { LoopWake } from './loop-wake'
import { mapItemId, mapItemsOf, MapWindow, parseMapItemId } from './map-items'
import type { Tracer } from '@opentelemetry/api'
import type { Json, RunRecord, StepError, StepExecution, WaitingFor, WorkflowError } from './model'
import type { StepContext, StepDeps } from './step'
import { RunTrace, TRACE_ATTR } from './run-trace'
import { retryDelay, type ResolvedStepConfig } from './step-config'
import { AttemptContext, LazyAbort, RunStateAccessor, type RunScope } from './step-context'
import { NEVER, type AnyWorkflow, type WorkflowNode } from './workflow'
import type { Claim, CreateRunResult, Lease, RunCommit, RunPatch, WorkflowStore } from './store'

/** What the engine lends each execution. */
export interface ExecutionEnv {
  readonly store: WorkflowStore
  readonly clock: Clock
  readonly logger: Logger
  readonly deps: StepDeps
  readonly random: () => number
  readonly leaseMs: number
  readonly inlineDelayLimitMs: number
  /** Spans of executions and attempts (run-trace.ts); a no-op tracer without an OpenTelemetry SDK. */
  readonly tracer: Tracer
  /** EngineOptions.onAttemptFinished. */
  readonly onAttemptFinished: ((attempt: FinishedAttempt) => void) | undefined
  /** Only the owner's own request may wake the loop (workerd); see EngineOptions.isolatedRequests. */
  readonly isolatedRequests: boolean
  /**
   * Effective options of a node, cached per node: engine defaults < workflow config < step options
   * (docs/decisions.md#configuration-merge).
   */
  readonly stepConfig: (workflow: AnyWorkflow, node: WorkflowNode) => ResolvedStepConfig
  /** Starts (or finds) the child run of a parent's child node: {@link AttemptScope.startChild}. */
  readonly startChild: (parentRunId: string, nodeId: string, workflowId: string, input: Json) => Promise<RunRecord>
  /** EngineOptions.limits, resolved. */
  readonly limits: PayloadLimits
}

/** A step attempt that ended with an outcome (not a wait, not an interruption), for operator metrics. */
export interface FinishedAttempt {
  readonly workflowId: string
  readonly stepId: string
  readonly status: 'COMPLETED' | 'SKIPPED' | 'FAILED'
  readonly durationMs: number
}

export interface ExecutionOptions {
  /** Stop starting steps after this many ms, let running ones finish, commit and release. */
  readonly budgetMs?: number
}

/** How an execution ended. */
export interface ExecutionResult {
  readonly run: RunRecord
  /**
   * It yielded (lease released) waiting for an event that was already delivered: the store made the run due at
   * once, so the engine may claim it again now rather than leave it to the sweeper.
   */
  readonly dueAgain: boolean
}

/** `mapping`: a map node whose items are under way (README "Map over an array"). */
type Phase = 'idle' | 'running' | 'waiting' | 'mapping' | 'done'

/**
 * Where an execution's run comes from: `claimed` from the store; `seeded` claimed, with `claim.steps` not yet
 * persisted (a retry's reused steps: the first commit writes them); `create` not stored at all: the first commit
 * creates the run with the steps it starts (`createRun`), one store call instead of a create and a commit.
 */
export type ExecutionStart = 'claimed' | 'seeded' | 'create'

/** The caller's side of a `create` execution's first commit. */
interface Creating {
  resolve(result: CreateRunResult): void
  reject(err: unknown): void
}

/** Why a waiting slot waits: the next attempt's backoff, a durable sleep, or an event (with its deadline). */
type WaitKind = 'retry' | 'sleep' | 'event' | 'child'

interface Slot {
  readonly node: WorkflowNode
  /** Position in the workflow's insertion order. */
  readonly index: number
  readonly config: ResolvedStepConfig
  /** The slots this one feeds. */
  readonly successors: Slot[]
  /** Predecessors not done yet; 0 when the step may start. */
  blockers: number
  record: StepExecution | null
  /** Changed only through `#setPhase`, which keeps the counts and queues below in step. */
  phase: Phase
  /** Attempt to run next (idle/waiting on retry) or running now. */
  attempt: number
  waitKind: WaitKind | null
  /** When a waiting slot should be looked at again. */
  wakeAt: number
  controller: LazyAbort | null
  /** For done slots: true when it failed and continue-on-error let the run go on. */
  continued: boolean
  /** For an item of a map: the map node's slot and the item's index. */
  readonly item: { readonly map: Slot; readonly index: number } | null
  /** For a map node once it opened: its items' inputs, their slots as created, and the window over them. */
  open: OpenMap | null
}

interface OpenMap {
  readonly inputs: readonly Json[]
  readonly window: MapWindow
}

interface Settled {
  readonly slot: Slot
  readonly attempt: number
  readonly outcome: Outcome
}

/**
 * Records a commit behind pipelined steps may gather; at this many, the boundary's commit is awaited instead. It
 * bounds what a crash can make run again, and keeps a commit within DynamoDB's 100 actions per transaction (the run
 * and up to 99 steps), with room for the starts of a parallel block.
 */
const PIPELINED_RECORDS_MAX = 50

/** Errors that would fail identically on every attempt (docs/decisions.md#retries); an output over its limit too. */
const NON_RETRYABLE_CODES: ReadonlySet<string> = new Set<ErrorCode>(['VALIDATION_ERROR', 'NON_RETRYABLE', 'PAYLOAD_TOO_LARGE'])

export class RunExecution {
  readonly #env: ExecutionEnv
  readonly #workflow: AnyWorkflow
  readonly #slots = new Map<string, Slot>()
  readonly #order: Slot[] = []
  // Every loop iteration used to scan all slots (ready steps, waits, progress), so a run of n steps cost O(n²)
  // (26 µs a step at 100 steps, 129 µs at 3,000 on memory). These keep each step's work independent of n:
  /** Idle slots whose predecessors are all done, by insertion order. Filled once restored. */
  readonly #ready = new IndexHeap<Slot>()
  #queueReady = false
  readonly #waiting = new Set<Slot>()
  /** Slots in phase done. */
  #doneCount = 0
  /** Done slots that count towards progress: with an output, or failed and continued (docs/decisions.md#progress). */
  #countedCount = 0
  readonly #outputs = new Map<string, Json>()
  readonly #dirty = new Map<string, StepExecution>()
  readonly #settled: Settled[] = []
  readonly #scope: RunScope
  readonly #deadline: number
  readonly #maxConcurrency: number
  #lease: Lease
  #run: RunRecord
  #nextIndex = 0
  /** Heap order of map items: after every node, in the order items were released. */
  #nextItemOrder = 0
  /** Completed items of maps not open yet (a retried or migrated run's): reused when the map opens on the same item. */
  readonly #reusableItems = new Map<string, StepExecution>()
  #running = 0
  /** When the lease's current expiry was set (claim, creation or renewal); a commit past half the lease renews it. */
  #renewedAt: number
  #failure: WorkflowError | null = null
  #shuttingDown = false
  /** Shutdown's grace ran out: running attempts are aborted and recorded as interrupted. */
  #interrupting = false
  #paused = false
  /** Why the execution stopped early; `uncreated`: the creating commit failed or found an idempotent duplicate. */
  #stopped: 'cancelled' | 'lost' | 'uncreated' | null = null
  #creating: Creating | null = null
  #stopCause: Error | null = null
  /** The last commit found the awaited event already delivered (CommitResult.awaitedEventDelivered). */
  #awaitedEventDelivered = false
  /** Some step is pipelined (StepConfig.durability): a boundary may commit behind the steps it starts. */
  readonly #pipelines: boolean
  /** The commit sent behind running steps; at most one is in flight, and it never rejects (see #commitFault). */
  #inflight: Promise<void> | null = null
  /** Cancels the timer after which the next commit goes behind the steps; null when none is armed. */
  #sendTimer: (() => void) | null = null
  /** The next commit behind the steps goes out at once: the timer fired, or the commit in flight returned. */
  #sendDue = false
  /** A store fault that outlived a background commit's retries: the loop rethrows it as an awaited commit's. */
  #commitFault: Error | null = null
  /** A commit of this execution has been stored. */
  #committed = false
  /** The run was claimed with an interrupted attempt (a crash): this execution commits every boundary before it goes on. */
  #recovering = false
  readonly #wake: LoopWake
  readonly #attemptScope: AttemptScope
  readonly #trace: RunTrace

  /**
   * For `create`: settles with the store's answer to the creating commit (rejects with its error); no step runs
   * before it. Null for the other starts.
   */
  readonly created: Promise<CreateRunResult> | null

  constructor(
    env: ExecutionEnv,
    workflow: AnyWorkflow,
    claim: Claim,
    options: ExecutionOptions = {},
    start: ExecutionStart = 'claimed',
  ) {
    this.#env = env
    this.#workflow = workflow
    this.#lease = claim.lease
    this.#run = claim.run
    const now = env.clock.now()
    // The claim set the expiry a moment ago, with this engine's leaseMs: count half the lease from then.
    this.#renewedAt = Math.min(now, claim.lease.expiresAt - env.leaseMs)
    this.#deadline = options.budgetMs === undefined ? Number.POSITIVE_INFINITY : now + options.budgetMs
    this.#maxConcurrency = workflow.config.maxConcurrency ?? Number.POSITIVE_INFINITY
    this.#wake = new LoopWake(env.clock, env.isolatedRequests)
    const runId = claim.run.runId
    this.#attemptScope = {
      runId,
      store: env.store,
      clock: env.clock,
      startChild: (nodeId, workflowId, input) => env.startChild(runId, nodeId, workflowId, input),
      stepOutputBytes: env.limits.stepOutputBytes,
    }
    this.#trace = new RunTrace(env.tracer, claim.run)
    const slots = this.#slots
    const outputs = this.#outputs
    this.#scope = {
      runId: claim.run.runId,
      workflowId: workflow.id,
      store: env.store,
      logger: env.logger,
      state: new RunStateAccessor(env.store, claim.run.runId, () => env.clock.now(), env.limits.stateValueBytes),
      deps: env.deps,
      context: claim.run.context,
      knownOutput: (stepId) => (slots.get(stepId)?.phase === 'done' ? outputs.get(stepId) : undefined),
      knownInput: (stepId) => slots.get(stepId)?.record?.input,
    }
    for (const node of workflow.steps) {
      const slot = newSlot(node, this.#order.length, env.stepConfig(workflow, node), null)
      this.#slots.set(node.id, slot)
      this.#order.push(slot)
    }
    for (const slot of this.#order) for (const id of slot.node.predecessors) this.#slots.get(id)?.successors.push(slot)
    this.#pipelines = this.#order.some((slot) => slot.config.durability === 'pipelined')
    this.#restore(claim.steps, now)
    for (const slot of this.#order) if (slot.phase === 'idle' && slot.blockers === 0) this.#ready.push(slot)
    this.#queueReady = true
    for (const slot of this.#order) if (slot.phase === 'mapping') this.#releaseItems(slot)
    if (start === 'seeded') for (const record of claim.steps) this.#dirty.set(record.stepId, record)
    this.created =
      start === 'create'
        ? new Promise<CreateRunResult>((resolve, reject) => {
            this.#creating = { resolve, reject }
          })
        : null
  }

  get runId(): string {
    return this.#run.runId
  }

  /** Cancellation was persisted elsewhere: abort running handlers at once and stop without writing. */
  cancelled(record: RunRecord): void {
    this.#halt('cancelled', new GorkflowError('CANCELLED', `run ${record.runId} was cancelled`))
    this.#run = record
  }

  /** A pause was persisted: start nothing new; commit what is running, then release the lease. */
  pauseRequested(): void {
    this.#paused = true
    this.#wake.notify()
  }

  /** An event was delivered in this isolate: a wait for it looks again at once. */
  eventArrived(name: string): void {
    const now = this.#env.clock.now()
    for (const slot of this.#waiting) {
      const wait = slot.node.wait
      const awaited = wait?.kind === 'event' ? wait.name : wait?.kind === 'child' ? childEventName(childRunId(this.runId, slot.node.id)) : null
      if ((slot.waitKind === 'event' || slot.waitKind === 'child') && awaited === name) {
        slot.wakeAt = now
      }
    }
    this.#wake.notify()
  }

  /** Finish running steps, commit, release the lease and return; used by graceful shutdown. */
  yieldSoon(): void {
    this.#shuttingDown = true
    this.#wake.notify()
  }

  /**
   * Graceful shutdown's grace ran out: abort the running attempts through their signals (ATTEMPT_INTERRUPTED),
   * record them as interrupted, commit and release the lease, without waiting for handlers that ignore the
   * signal (their late results are ignored: docs/decisions.md#late-results-are-ignored).
   */
  interrupt(): void {
    this.#shuttingDown = true
    this.#interrupting = true
    this.#wake.notify()
  }

  /** Runs until terminal or yielded; returns the run as this execution last knew it. */
  async execute(): Promise<ExecutionResult> {
    try {
      const run = await this.#loop()
      this.#trace.end(run)
      return { run, dueAgain: run.leaseOwner === null && !this.#stopped && this.#awaitedEventDelivered }
    } catch (err) {
      // Store faults that outlived the commit retries: stop and let the lease expire; the sweeper resumes.
      this.#halt('lost', toError(err))
      // The loop is not waiting, so #halt could not abort running attempts: their results could not be stored.
      this.#abortRunning()
      this.#disarmSend()
      if (this.#inflight) await this.#inflight
      this.#log('error', 'persistence_error', { run_id: this.runId, error: toError(err).message })
      this.#trace.end(this.#run)
      return { run: this.#run, dueAgain: false }
    }
  }

  async #loop(): Promise<RunRecord> {
    const { clock } = this.#env
    for (;;) {
      if (this.#commitFault) throw this.#commitFault
      if (this.#stopped) return this.#afterStop()
      this.#drainSettled()
      if (this.#interrupting) this.#interruptRunning(clock.now())
      const now = clock.now()
      const stopping = this.#shuttingDown || this.#paused || now >= this.#deadline
      const checks = this.#failure || stopping ? [] : this.#dueWaitChecks(now)
      const starts = (this.#failure || stopping ? [] : this.#startable(now)).filter((slot) => this.#markStarted(slot, now))
      const finished = this.#failure !== null || this.#doneCount === this.#order.length
      // Only waits longer than the invocation may sleep are left: their deadlines go out with the yield, in one commit.
      const idle = !finished && this.#running === 0 && checks.length === 0 && starts.length === 0
      const mustYield = idle && (stopping || this.#waitsPastInline(now))
      const renew = this.#renewDue(now)

      if (starts.length > 0 || this.#dirty.size > 0 || finished || mustYield || renew || this.#run.startedAt === null) {
        if (finished) return this.#finish(now)
        if (mustYield) return this.#yield(now)
        if (this.#mayPipeline(renew)) {
          this.#commitBehind(now)
        } else {
          if (this.#commitPending()) await this.#settleCommits()
          if (!this.#stopped) await this.#commit(now, this.#progressPatch(now), false)
          if (this.#stopped) return this.#afterStop()
        }
      }
      for (const slot of checks) this.#launch(slot, true)
      for (const slot of starts) this.#launch(slot, false)

      if (this.#running === 0) {
        if (stopping || this.#ready.size > 0) continue
        const wakeAt = this.#earliestWait()
        if (wakeAt === null) {
          // No step can ever become ready: a definition/record mismatch. Fail loudly rather than spin.
          this.#failure = this.#runError('INTERNAL_ERROR', 'no step can make progress', null)
          continue
        }
        const delay = wakeAt - clock.now()
        if (delay > this.#env.inlineDelayLimitMs || clock.now() + delay > this.#deadline) return this.#yield(clock.now())
        await this.#wake.sleep(delay)
        continue
      }
      await this.#nextEvent(now)
    }
  }

  /**
   * Rebuilds slots from persisted step records. An attempt still RUNNING was interrupted by a crash or a restart:
   * it is recorded as an interruption, not a failure (docs/decisions.md#interrupted-attempts).
   */
  #restore(records: readonly StepExecution[], now: number): void {
    // Nodes first, so the maps are open when their items' records come.
    const items: StepExecution[] = []
    for (const record of records) {
      const slot = this.#slots.get(record.stepId)
      if (slot) this.#restoreRecord(slot, record, now)
      else items.push(record)
    }
    for (const record of items) {
      const item = parseMapItemId(record.stepId)
      const map = item === null ? undefined : this.#slots.get(item.mapId)
      if (map?.node.map && map.open === null && map.phase !== 'done' && record.status === 'COMPLETED') {
        this.#reusableItems.set(record.stepId, record)
      }
      if (item === null || map?.open == null || item.index >= map.open.window.size) continue
      map.open.window.restored(item.index)
      this.#restoreRecord(this.#itemSlot(map, item.index), record, now)
    }
  }

  #restoreRecord(slot: Slot, record: StepExecution, now: number): void {
    slot.record = record
    this.#nextIndex = Math.max(this.#nextIndex, record.executionIndex + 1)
    switch (record.status) {
      case 'COMPLETED':
      case 'SKIPPED':
        this.#outputs.set(slot.node.id, record.output)
        this.#setPhase(slot, 'done')
        break
      case 'FAILED':
        if (slot.config.continueOnError) slot.continued = true
        else if (!slot.item) this.#failure = this.#stepFailure(slot, record.error)
        this.#setPhase(slot, 'done')
        break
      case 'RETRYING':
        this.#waitFor(slot, 'retry', record.wakeAt ?? now)
        slot.attempt = record.attempt + 1
        break
      case 'RUNNING':
      case 'CANCELLED': {
        if (slot.node.map && record.status === 'RUNNING') {
          this.#startMap(slot, mapItemsOf(slot.node.id, record.input), now)
          break
        }
        const wait = slot.node.wait
        if (wait && record.status === 'RUNNING') {
          // A wait node that had computed its deadline resumes waiting (an event is looked for at once, since
          // a delivery may be what woke the run); one that had not simply starts again: it has no side effects.
          if (record.wakeAt !== null) this.#waitFor(slot, wait.kind, wait.kind === 'sleep' ? record.wakeAt : now)
          break
        }
        this.#recovering = true
        this.#interrupted(slot, record.attempt, now, 'the worker stopped')
        break
      }
      case 'PENDING':
        slot.attempt = record.attempt
        break
    }
  }

  /** Opens a map node whose predecessors are done: records it started and releases its first items. */
  #openMap(slot: Slot, now: number): void {
    // A map behind a join whose input is over the limit has failed already.
    if (!this.#markStarted(slot, now)) return
    const record = slot.record as StepExecution
    let inputs: readonly Json[]
    try {
      inputs = mapItemsOf(slot.node.id, record.input)
    } catch (err) {
      const code = isGorkflowError(err) ? err.code : 'VALIDATION_ERROR'
      const error: StepError = { code, message: toError(err).message, attempt: 0, timestamp: now }
      this.#stepFailed(slot, { ...record, status: 'FAILED', error, completedAt: now, updatedAt: now })
      return
    }
    this.#startMap(slot, inputs, now)
    if (this.#reusableItems.size > 0) this.#reuseItems(slot, now)
    if (slot.phase === 'mapping') this.#releaseItems(slot)
  }

  /** Takes over the completed items a retried run brought along, where the item's input is still the same. */
  #reuseItems(map: Slot, now: number): void {
    const open = map.open as OpenMap
    const reused: [number, StepExecution][] = []
    for (let index = 0; index < open.window.size; index++) {
      const id = mapItemId(map.node.id, index)
      const record = this.#reusableItems.get(id)
      if (record === undefined) continue
      this.#reusableItems.delete(id)
      if (JSON.stringify(record.input) !== JSON.stringify(open.inputs[index])) continue
      // All marked first, so the releases that each reused item's end triggers skip the others.
      open.window.restored(index)
      reused.push([index, record])
    }
    for (const [index, record] of reused) this.#restoreRecord(this.#itemSlot(map, index), record, now)
  }

  #startMap(slot: Slot, inputs: readonly Json[], now: number): void {
    const map = slot.node.map as NonNullable<WorkflowNode['map']>
    slot.open = { inputs, window: new MapWindow(inputs.length, map.concurrency) }
    this.#setPhase(slot, 'mapping')
    if (inputs.length === 0) this.#completeMap(slot, now)
  }

  /** The slot of item `index` of an open map, made on first use: a map's items cost nothing until released. */
  #itemSlot(map: Slot, index: number): Slot {
    const id = mapItemId(map.node.id, index)
    const existing = this.#slots.get(id)
    if (existing) return existing
    const node: WorkflowNode = {
      ...map.node,
      id,
      name: `${map.node.name}[${index}]`,
      map: null,
      predecessors: [],
      successors: [],
    }
    const slot = newSlot(node, this.#order.length + this.#nextItemOrder++, map.config, { map, index })
    this.#slots.set(id, slot)
    return slot
  }

  /** Queues the items the map's window lets start now. */
  #releaseItems(map: Slot): void {
    const open = map.open as OpenMap
    for (const index of open.window.release()) this.#ready.push(this.#itemSlot(map, index))
  }

  /**
   * An item ended: a failure that does not continue fails the map (the run's error names the map and the item);
   * otherwise the next items are released, and the last one completes the map.
   */
  #itemDone(item: Slot): void {
    const { map, index } = item.item as NonNullable<Slot['item']>
    const open = map.open as OpenMap
    open.window.finished()
    if (map.phase !== 'mapping' || this.#failure) return
    const now = this.#env.clock.now()
    const record = item.record as StepExecution
    if (record.status === 'FAILED' && !item.continued) {
      const error: StepError = {
        ...(record.error ?? { code: 'EXECUTION_FAILED', message: 'unknown error', attempt: record.attempt, timestamp: now }),
        message: `item ${index} (${item.node.id}) failed: ${record.error?.message ?? 'unknown error'}`,
      }
      this.#stepFailed(map, { ...(map.record as StepExecution), status: 'FAILED', error, completedAt: now, updatedAt: now })
      return
    }
    if (open.window.complete) this.#completeMap(map, now)
    else if (this.#queueReady) this.#releaseItems(map)
  }

  /** Every item is done: the map's output is their outputs in item order, null for a failed item that continued. */
  #completeMap(map: Slot, now: number): void {
    const open = map.open as OpenMap
    const output: Json[] = []
    for (let index = 0; index < open.window.size; index++) {
      const id = mapItemId(map.node.id, index)
      output.push(this.#outputs.get(id) ?? null)
      this.#outputs.delete(id)
    }
    const record = map.record as StepExecution
    // The items fit one by one, their array may not: the map fails like a step whose output is too large.
    const tooLarge = this.#overLimit(output, `output of map ${map.node.id}`, now)
    if (tooLarge) {
      this.#stepFailed(map, { ...record, status: 'FAILED', error: tooLarge, completedAt: now, updatedAt: now })
      return
    }
    this.#outputs.set(map.node.id, output)
    this.#setRecord(map, {
      ...record,
      status: 'COMPLETED',
      output,
      error: null,
      completedAt: now,
      durationMs: Math.max(0, now - (record.startedAt ?? now)),
      wakeAt: null,
      updatedAt: now,
    })
    this.#setPhase(map, 'done')
    this.#log('info', 'step_completed', { run_id: this.runId, step_id: map.node.id, items: open.window.size })
  }

  #waitFor(slot: Slot, kind: WaitKind, wakeAt: number): void {
    this.#setPhase(slot, 'waiting')
    slot.waitKind = kind
    slot.wakeAt = wakeAt
  }

  /** The one place a slot's phase changes: keeps the done counts, the waiting set and the ready queue current. */
  #setPhase(slot: Slot, phase: Phase): void {
    const was = slot.phase
    if (was === phase) return
    slot.phase = phase
    if (was === 'waiting') this.#waiting.delete(slot)
    if (phase === 'waiting') this.#waiting.add(slot)
    // Back to idle (a wait node interrupted before it computed its deadline): it may start again.
    if (phase === 'idle' && slot.blockers === 0 && this.#queueReady) this.#ready.push(slot)
    if (phase !== 'done') return
    if (slot.item) return this.#itemDone(slot)
    this.#doneCount++
    if (slot.continued || this.#outputs.has(slot.node.id)) this.#countedCount++
    for (const next of slot.successors) {
      next.blockers--
      if (next.blockers === 0 && next.phase === 'idle' && this.#queueReady) this.#ready.push(next)
    }
  }

  /**
   * Ready steps, in insertion order, within maxConcurrency: never-started ones and retries whose backoff ended.
   * Takes them off the ready queue: the loop starts every step this returns.
   */
  #startable(now: number): Slot[] {
    const ready: Slot[] = []
    let capacity = this.#maxConcurrency - this.#running
    if (capacity <= 0) return ready
    const retries = this.#dueRetries(now)
    let r = 0
    while (capacity > 0) {
      const idle = this.#ready.peek()
      const retry = retries[r]
      if (idle === undefined && retry === undefined) break
      if (retry === undefined || (idle !== undefined && idle.index < retry.index)) {
        const slot = this.#ready.pop() as Slot
        if (slot.node.map && this.#creating !== null) {
          // A new run's first write cannot hold finished steps (an empty map ends at once) or a store's worth of
          // items: the map opens once the run exists, one commit later.
          this.#ready.push(slot)
          break
        }
        if (slot.node.map) {
          // Opening starts no handler: its first items join the queue and are taken in this same pass.
          this.#openMap(slot, now)
          if (this.#failure === null) continue
          for (const popped of ready) this.#ready.push(popped)
          return []
        }
        ready.push(slot)
      } else ready.push(retries[r++] as Slot)
      capacity--
    }
    return ready
  }

  /** Whether {@link startable} would return a step, without taking any off the queue. */
  #hasStartable(now: number): boolean {
    return this.#maxConcurrency - this.#running > 0 && (this.#ready.size > 0 || this.#dueRetries(now).length > 0)
  }

  /** Retries whose backoff ended, in insertion order. */
  #dueRetries(now: number): Slot[] {
    const due: Slot[] = []
    for (const slot of this.#waiting) if (slot.waitKind === 'retry' && slot.wakeAt <= now && slot.blockers === 0) due.push(slot)
    return due.sort(byIndex)
  }

  /** Sleeps that ended and event waits to look at again. */
  #dueWaitChecks(now: number): Slot[] {
    const due: Slot[] = []
    for (const slot of this.#waiting) if (slot.waitKind !== 'retry' && slot.wakeAt <= now) due.push(slot)
    return due.sort(byIndex)
  }

  /** The sinks' output: the one sink's, or `{ [sinkId]: output }`. */
  #runOutput(): Json {
    const sinks = this.#workflow.sinks
    return sinks.length === 1
      ? (this.#outputs.get(sinks[0] as string) ?? null)
      : Object.fromEntries(sinks.map((id) => [id, this.#outputs.get(id) ?? null]))
  }

  /**
   * Records a step's attempt started; false when it could not start: a join whose predecessors' outputs together
   * exceed the step output limit fails with PAYLOAD_TOO_LARGE instead (one output or the run input fit already).
   */
  #markStarted(slot: Slot, now: number): boolean {
    const previous = slot.record
    const stored = previous !== null && previous.status !== 'PENDING'
    const input = stored ? previous.input : this.#resolveInput(slot)
    const tooLarge = !stored && slot.node.predecessors.length > 1 ? this.#overLimit(input, `input of step ${slot.node.id}`, now) : null
    const record: StepExecution = {
      runId: this.runId,
      stepId: slot.node.id,
      executionIndex: previous ? previous.executionIndex : this.#nextIndex++,
      status: tooLarge ? 'FAILED' : 'RUNNING',
      attempt: slot.attempt,
      interruptions: previous?.interruptions ?? 0,
      input: tooLarge ? null : input,
      output: null,
      error: tooLarge ?? previous?.error ?? null,
      startedAt: now,
      completedAt: tooLarge ? now : null,
      durationMs: previous?.durationMs ?? 0,
      wakeAt: null,
      createdAt: previous?.createdAt ?? now,
      updatedAt: now,
    }
    if (tooLarge) {
      this.#stepFailed(slot, record)
      return false
    }
    this.#setRecord(slot, record)
    slot.waitKind = null
    return true
  }

  /** A PAYLOAD_TOO_LARGE step error when `value` exceeds the step output limit (README "Limits"), else null. */
  #overLimit(value: Json, what: string, now: number): StepError | null {
    try {
      checkJsonWithin(value, this.#env.limits.stepOutputBytes, 'stepOutputBytes', what)
      return null
    } catch (err) {
      if (!isGorkflowError(err, 'PAYLOAD_TOO_LARGE')) throw err
      return { code: err.code, message: err.message, details: err.details, attempt: 0, timestamp: now }
    }
  }

  /**
   * Run input for entry steps, the predecessor's output for one, `{ [id]: output }` for a join
   * (docs/decisions.md#step-input).
   */
  #resolveInput(slot: Slot): Json {
    if (slot.item) return (slot.item.map.open as OpenMap).inputs[slot.item.index] ?? null
    const preds = slot.node.predecessors
    if (preds.length === 0) return this.#run.input
    if (preds.length === 1) return this.#outputs.get(preds[0] as string) ?? null
    const joined: { [key: string]: Json } = {}
    for (const id of preds) joined[id] = this.#outputs.get(id) ?? null
    return joined
  }

  /** Runs an attempt, or (`check`) looks again at a wait whose time came. */
  #launch(slot: Slot, check: boolean): void {
    const record = slot.record as StepExecution
    const attempt = slot.attempt
    const controller = new LazyAbort()
    slot.controller = controller
    this.#setPhase(slot, 'running')
    this.#running++
    if (!check) {
      this.#trace.attemptStarted(slot.node.id, attempt)
      this.#log('info', 'step_started', {
        run_id: this.runId,
        step_id: slot.node.id,
        step_name: slot.node.name,
        attempt,
        step_num: record.executionIndex + 1,
        total_steps: this.#order.length,
      })
    }
    const work = check
      ? checkWait(this.#attemptScope, slot.node, record)
      : runAttempt(this.#attemptScope, slot.node, slot.config.timeoutMs, record, this.#context(slot, attempt, controller), controller)
    void work.then((outcome) => {
      this.#settled.push({ slot, attempt, outcome })
      // The attempt settles in the context that launched it, the owner's: waking the loop is safe in workerd too.
      this.#wake.notify(true)
    })
  }

  #context(slot: Slot, attempt: number, abort: LazyAbort): StepContext {
    return new AttemptContext(this.#scope, slot.node.id, attempt, abort)
  }

  #drainSettled(): void {
    const now = this.#env.clock.now()
    for (const { slot, attempt, outcome } of this.#settled.splice(0)) {
      // A result for an attempt that is no longer current (timed out, aborted) is ignored:
      // docs/decisions.md#late-results-are-ignored.
      if (slot.phase !== 'running' || slot.attempt !== attempt) continue
      this.#running--
      slot.controller = null
      const record = slot.record as StepExecution
      if (outcome.kind === 'wait') {
        const kind = slot.node.wait?.kind ?? 'sleep'
        this.#trace.attemptEnded(slot.node.id, 'WAITING')
        this.#trace.event('gorkflow.step.wait', {
          [TRACE_ATTR.stepId]: slot.node.id,
          [TRACE_ATTR.waitKind]: kind,
          ...(outcome.until >= NEVER ? {} : { [TRACE_ATTR.wakeAt]: outcome.until }),
        })
        this.#waitFor(slot, kind, outcome.until)
        if (record.wakeAt !== outcome.until) this.#setRecord(slot, { ...record, wakeAt: outcome.until, updatedAt: now })
        continue
      }
      const durationMs = Math.max(0, now - (record.startedAt ?? now))
      if (outcome.kind === 'done') {
        slot.waitKind = null
        this.#outputs.set(slot.node.id, outcome.output)
        this.#setPhase(slot, 'done')
        this.#setRecord(slot, {
          ...record,
          status: outcome.skipped ? 'SKIPPED' : 'COMPLETED',
          output: outcome.output,
          error: null,
          completedAt: now,
          durationMs,
          wakeAt: null,
          updatedAt: now,
        })
        this.#trace.attemptEnded(slot.node.id, outcome.skipped ? 'SKIPPED' : 'COMPLETED')
        this.#attemptFinished(slot, outcome.skipped ? 'SKIPPED' : 'COMPLETED', durationMs)
        this.#log('info', outcome.skipped ? 'step_skipped' : 'step_completed', {
          run_id: this.runId,
          step_id: slot.node.id,
          duration_ms: durationMs,
          attempts: attempt + 1,
          reason: outcome.skipped ? 'condition_not_met' : undefined,
        })
        continue
      }
      const code = isGorkflowError(outcome.error) ? outcome.error.code : 'EXECUTION_FAILED'
      const error: StepError = {
        code,
        message: boundedErrorMessage(outcome.error.message),
        attempt,
        timestamp: now,
        ...(isGorkflowError(outcome.error) && outcome.error.details !== undefined ? { details: boundedErrorDetails(outcome.error.details) } : {}),
      }
      this.#trace.attemptEnded(slot.node.id, 'FAILED', code)
      this.#attemptFinished(slot, 'FAILED', durationMs)
      this.#log('error', 'step_failed', { run_id: this.runId, step_id: slot.node.id, attempt, duration_ms: durationMs, code })
      this.#attemptFailed(slot, attempt, error, now, durationMs, !NON_RETRYABLE_CODES.has(code))
    }
  }

  #attemptFinished(slot: Slot, status: FinishedAttempt['status'], durationMs: number): void {
    const observe = this.#env.onAttemptFinished
    if (observe === undefined) return
    try {
      observe({ workflowId: this.#workflow.id, stepId: slot.node.id, status, durationMs })
    } catch (err) {
      // An observer's fault must not change the run's outcome.
      this.#log('warn', 'observer_error', { run_id: this.runId, error: toError(err).message })
    }
  }

  /**
   * Schedules the next attempt, or ends the step FAILED (continued, or failing the run). Only failed attempts
   * spend `maxRetries`: interrupted ones are counted apart (docs/decisions.md#interrupted-attempts).
   */
  #attemptFailed(slot: Slot, attempt: number, error: StepError, now: number, durationMs: number, retryable: boolean): void {
    const record = slot.record as StepExecution
    const retriesSpent = attempt - record.interruptions
    if (retryable && retriesSpent < slot.config.maxRetries) {
      const delay = retryDelay(slot.config, retriesSpent + 1, this.#env.random)
      this.#waitFor(slot, 'retry', now + delay)
      slot.attempt = attempt + 1
      this.#setRecord(slot, { ...record, status: 'RETRYING', attempt, error, durationMs, wakeAt: now + delay, updatedAt: now })
      this.#trace.event('gorkflow.step.retry', {
        [TRACE_ATTR.stepId]: slot.node.id,
        [TRACE_ATTR.attempt]: attempt + 1,
        [TRACE_ATTR.errorCode]: error.code,
        [TRACE_ATTR.wakeAt]: now + delay,
      })
      this.#log('warn', 'step_retrying', { run_id: this.runId, step_id: slot.node.id, attempt: attempt + 1, delay })
      return
    }
    this.#stepFailed(slot, { ...record, status: 'FAILED', attempt, error, durationMs, completedAt: now, wakeAt: null, updatedAt: now })
  }

  /**
   * Records attempt `attempt` as interrupted: the next one is due at once and spends no retry, unless the step
   * has now been interrupted more than `maxInterruptions` times, which ends it FAILED with ATTEMPT_INTERRUPTED.
   */
  #interrupted(slot: Slot, attempt: number, now: number, why: string): void {
    const record = slot.record as StepExecution
    const interruptions = record.interruptions + 1
    const { maxInterruptions } = slot.config
    const over = interruptions > maxInterruptions
    const error: StepError = {
      code: 'ATTEMPT_INTERRUPTED',
      message:
        `attempt ${attempt} was interrupted before it finished (${why})` +
        (over ? `; ${interruptions} interruptions exceed maxInterruptions (${maxInterruptions})` : ''),
      attempt,
      timestamp: now,
    }
    this.#trace.attemptEnded(slot.node.id, 'INTERRUPTED', 'ATTEMPT_INTERRUPTED')
    this.#trace.event('gorkflow.step.interrupted', { [TRACE_ATTR.stepId]: slot.node.id, [TRACE_ATTR.attempt]: attempt })
    this.#log('warn', 'step_interrupted', { run_id: this.runId, step_id: slot.node.id, attempt, interruptions })
    if (over) {
      this.#stepFailed(slot, { ...record, status: 'FAILED', attempt, interruptions, error, completedAt: now, wakeAt: null, updatedAt: now })
      return
    }
    this.#waitFor(slot, 'retry', now)
    slot.attempt = attempt + 1
    this.#setRecord(slot, { ...record, status: 'RETRYING', attempt, interruptions, error, wakeAt: now, updatedAt: now })
  }

  /** Past the shutdown grace: every running attempt is aborted and recorded as interrupted; a wait's look waits on. */
  #interruptRunning(now: number): void {
    const reason = new GorkflowError('ATTEMPT_INTERRUPTED', 'the engine is shutting down')
    for (const slot of this.#slots.values()) {
      if (slot.phase !== 'running') continue
      slot.controller?.abort(reason)
      slot.controller = null
      this.#running--
      const record = slot.record as StepExecution
      const wait = slot.node.wait
      // A wait node has no handler to interrupt: it waits on from its deadline, or computes it again (no side effects).
      if (wait) {
        if (record.wakeAt === null) this.#setPhase(slot, 'idle')
        else this.#waitFor(slot, wait.kind, wait.kind === 'sleep' ? record.wakeAt : now)
        continue
      }
      this.#interrupted(slot, slot.attempt, now, 'the engine shut down')
    }
  }

  #stepFailed(slot: Slot, record: StepExecution): void {
    const { error } = record
    slot.waitKind = null
    this.#setRecord(slot, record)
    if (slot.config.continueOnError) slot.continued = true
    this.#setPhase(slot, 'done')
    if (slot.continued) {
      this.#log('warn', 'step_continued', { run_id: this.runId, step_id: slot.node.id })
    } else if (!this.#failure) {
      this.#failure = this.#stepFailure(slot, error)
    }
  }

  #stepFailure(slot: Slot, error: StepError | null): WorkflowError {
    const attempts = (error?.attempt ?? slot.attempt) + 1
    return this.#runError(
      error?.code ?? 'EXECUTION_FAILED',
      `step ${slot.node.id} failed after ${attempts} attempt${attempts === 1 ? '' : 's'}: ${error?.message ?? 'unknown error'}`,
      slot.node.id,
    )
  }

  #runError(code: string, message: string, step: string | null): WorkflowError {
    return { code, message, step, timestamp: this.#env.clock.now() }
  }

  #setRecord(slot: Slot, record: StepExecution): void {
    slot.record = record
    this.#dirty.set(slot.node.id, record)
  }

  #earliestWait(): number | null {
    let earliest: number | null = null
    for (const slot of this.#waiting) if (earliest === null || slot.wakeAt < earliest) earliest = slot.wakeAt
    return earliest
  }

  /** The sleep or event wait with the nearest deadline (the first in insertion order on a tie), as shown on the run. */
  #waitingFor(): WaitingFor | null {
    let found: WaitingFor | null = null
    let foundIndex = 0
    for (const slot of this.#waiting) {
      const wait = slot.node.wait
      const until = slot.record?.wakeAt
      if (!wait || until === null || until === undefined) continue
      if (found) {
        const current: number = found.until ?? NEVER
        if (current < until || (current === until && foundIndex < slot.index)) continue
      }
      foundIndex = slot.index
      found = this.#shownWait(slot.node, wait, until)
    }
    return found
  }

  #shownWait(node: WorkflowNode, wait: NonNullable<WorkflowNode['wait']>, until: number): WaitingFor {
    const stepId = node.id
    if (wait.kind === 'sleep') return { kind: 'sleep', stepId, until }
    if (wait.kind === 'event') return { kind: 'event', stepId, name: wait.name, until: until >= NEVER ? null : until }
    const runId = childRunId(this.runId, stepId)
    return { kind: 'child', stepId, name: childEventName(runId), runId, workflowId: wait.workflowId, until }
  }

  #progressPatch(now: number): RunPatch {
    const progress = this.#countedCount / this.#order.length
    const waitingFor = this.#waitingFor()
    const patch: { -readonly [K in keyof RunPatch]: RunPatch[K] } = {}
    if (this.#run.startedAt === null) Object.assign(patch, { status: 'RUNNING', startedAt: now })
    if (progress !== this.#run.progress) patch.progress = progress
    if (this.#run.wakeAt !== null) patch.wakeAt = null
    if (JSON.stringify(waitingFor) !== JSON.stringify(this.#run.waitingFor)) patch.waitingFor = waitingFor
    return patch
  }

  /**
   * Terminal commit: COMPLETED with the sinks' output, or FAILED with siblings aborted
   * (docs/decisions.md#parallel-failure).
   */
  async #finish(now: number): Promise<RunRecord> {
    if (this.#commitPending()) await this.#settleCommits()
    if (this.#stopped) return this.#afterStop()
    const output = this.#failure ? null : this.#runOutput()
    // Each sink's output fits; several together may not (README "Limits").
    const tooLarge = output !== null && this.#workflow.sinks.length > 1 ? this.#overLimit(output, 'output of the run', now) : null
    if (tooLarge) this.#failure = { code: tooLarge.code, message: tooLarge.message, details: tooLarge.details, step: null, timestamp: now }
    const failure = this.#failure
    let patch: RunPatch
    if (failure) {
      for (const slot of this.#slots.values()) {
        if (slot.phase !== 'running' && slot.phase !== 'waiting' && slot.phase !== 'mapping') continue
        slot.controller?.abort(new GorkflowError('CANCELLED', `aborted: step ${failure.step ?? '?'} failed`))
        if (slot.record) this.#setRecord(slot, { ...slot.record, status: 'CANCELLED', completedAt: now, wakeAt: null, updatedAt: now })
        this.#setPhase(slot, 'done')
      }
      this.#running = 0
      // The failed step is not counted, so progress stays below 1 for a FAILED run (docs/decisions.md#progress).
      const { progress = this.#run.progress } = this.#progressPatch(now)
      patch = { status: 'FAILED', error: failure, completedAt: now, progress, wakeAt: null, waitingFor: null }
    } else {
      patch = { status: 'COMPLETED', output, progress: 1, completedAt: now, wakeAt: null, waitingFor: null }
      if (this.#run.startedAt === null) patch = { ...patch, startedAt: now }
    }
    await this.#commit(now, patch, true)
    if (this.#stopped) return this.#afterStop()
    if (failure) this.#log('error', 'workflow_failed', { run_id: this.runId, code: failure.code, step: failure.step })
    else this.#log('info', 'workflow_completed', { run_id: this.runId, duration_ms: now - (this.#run.startedAt ?? now) })
    return this.#run
  }

  /**
   * Persists progress and `wakeAt` — null (due at once) when a step could start now, else the earliest wait —
   * releases the lease and returns. The sweeper resumes the run (a PAUSED one only after `resume`).
   */
  async #yield(now: number): Promise<RunRecord> {
    if (this.#commitPending()) await this.#settleCommits()
    if (this.#stopped) return this.#afterStop()
    const wakeAt = this.#hasStartable(now) || this.#dueWaitChecks(now).length > 0 ? null : this.#earliestWait()
    await this.#commit(now, { ...this.#progressPatch(now), wakeAt }, true)
    if (!this.#stopped) {
      this.#trace.event(this.#paused ? 'gorkflow.run.paused' : 'gorkflow.run.yield', wakeAt === null ? {} : { [TRACE_ATTR.wakeAt]: wakeAt })
      this.#log('info', this.#paused ? 'workflow_paused' : 'workflow_yielded', { run_id: this.runId, wake_at: wakeAt })
    }
    return this.#stopped ? this.#afterStop() : this.#run
  }

  /** Whether the earliest wait ends later than the invocation may sleep inline (or past its budget). */
  #waitsPastInline(now: number): boolean {
    const wakeAt = this.#earliestWait()
    return wakeAt !== null && (wakeAt - now > this.#env.inlineDelayLimitMs || wakeAt > this.#deadline)
  }

  /** Whether half the lease has passed since it was last set: the next commit extends it. */
  #renewDue(now: number): boolean {
    return now - this.#renewedAt >= this.#env.leaseMs / 2
  }

  /**
   * Whether this boundary's commit may go out behind the steps it starts: every record it carries is a pipelined
   * step's, they are fewer than {@link PIPELINED_RECORDS_MAX}, it renews no lease, and a commit of this execution
   * is already stored. The first commit waits so that
   * the first attempts an execution starts are stored RUNNING before they run (a resumed run can then tell an
   * interrupted attempt); an execution that found one commits every boundary first, so a step that kills its
   * worker is recorded as it starts and `maxInterruptions` still ends it.
   */
  #mayPipeline(renew: boolean): boolean {
    if (!this.#pipelines || renew || !this.#committed || this.#recovering || this.#dirty.size >= PIPELINED_RECORDS_MAX) return false
    for (const stepId of this.#dirty.keys()) if (this.#slots.get(stepId)?.config.durability !== 'pipelined') return false
    return true
  }

  /**
   * Sends the boundary's commit without waiting for it, unless one is in flight: then the records wait in `#dirty`
   * and go out together in the next commit, sent when the loop wakes to this one's return.
   */
  #commitBehind(now: number): void {
    if (this.#inflight) return
    if (!this.#sendDue) {
      // One macrotask later, so that successors which finish without I/O (settling in microtasks) share the commit:
      // a chain of such steps reaches its terminal commit before this fires, and costs that commit alone.
      this.#sendTimer ??= this.#env.clock.timer(0, () => {
        this.#sendTimer = null
        this.#sendDue = true
        this.#wake.notify(true)
      })
      return
    }
    this.#sendDue = false
    this.#inflight = this.#commit(now, this.#progressPatch(now), false)
      .catch((err: unknown) => {
        this.#commitFault = toError(err)
      })
      .finally(() => {
        this.#inflight = null
        // What finished meanwhile has waited for this commit already: it goes out at once.
        this.#sendDue = true
        // The commit was sent from the owner's context, so its continuation runs there: waking the loop is safe.
        this.#wake.notify(true)
      })
  }

  /**
   * Waits for the commit in flight, so the next one (which takes every record not yet sent) follows it; rethrows a
   * store fault that outlived its retries.
   */
  async #settleCommits(): Promise<void> {
    this.#disarmSend()
    if (this.#inflight) await this.#inflight
    if (this.#commitFault) throw this.#commitFault
  }

  /** A commit is in flight or armed to go behind the steps (tested first: strict boundaries skip an await). */
  #commitPending(): boolean {
    return this.#inflight !== null || this.#sendTimer !== null
  }

  #disarmSend(): void {
    this.#sendTimer?.()
    this.#sendTimer = null
    this.#sendDue = false
  }

  async #commit(now: number, patch: RunPatch, release: boolean): Promise<void> {
    const limit = this.#env.store.maxCommitSteps
    while (limit !== undefined && this.#creating === null && this.#dirty.size > limit && !this.#stopped) {
      await this.#commitSteps(now, limit)
    }
    if (this.#stopped) return
    // Commits in between keep the expiry, so a store writes no lease (and no due-index) change on every step.
    const extend = this.#creating !== null || this.#renewDue(now)
    const commit: RunCommit = {
      now,
      steps: [...this.#dirty.values()],
      run: patch,
      leaseExpiresAt: release ? null : extend ? now + this.#env.leaseMs : this.#lease.expiresAt,
    }
    this.#dirty.clear()
    this.#awaitedEventDelivered = false
    if (this.#creating) return this.#create(commit)
    const outcome = await commitWithRetries(this.#env.store, this.#env.clock, this.#lease, commit, (err) =>
      this.#log('warn', 'persistence_error', { run_id: this.runId, operation: 'commit', error: err.message }),
    )
    if (outcome.kind === 'halted') {
      this.#halt(outcome.reason, outcome.error)
      return
    }
    this.#committed = true
    if (outcome.kind === 'applied') {
      const current = outcome.run
      this.#run = current
      if (current.leaseExpiresAt !== null) this.#lease = { ...this.#lease, expiresAt: current.leaseExpiresAt }
      if (extend) this.#renewedAt = now
      this.#paused = current.status === 'PAUSED'
      return
    }
    this.#lease = outcome.lease
    this.#awaitedEventDelivered = outcome.awaitedEventDelivered
    const { status } = outcome
    if (extend) this.#renewedAt = now
    // PAUSED (and RUNNING again after a resume) is the operator's word; the store reports it with every commit.
    this.#paused = status === 'PAUSED'
    const released = commit.leaseExpiresAt === null
    this.#run = {
      ...this.#run,
      ...patch,
      ...(this.#awaitedEventDelivered ? { wakeAt: now } : {}),
      status,
      updatedAt: now,
      leaseOwner: released ? null : this.#lease.owner,
      leaseExpiresAt: released ? null : this.#lease.expiresAt,
    }
  }

  /**
   * Writes `limit` of the pending step records ahead of the commit they belong to, keeping the lease, when they are
   * more than the store takes at once (DynamoDB: 100 actions a transaction) — a map whose many items end and start
   * together. Each record is whole, so a crash between the parts leaves nothing a resume misreads.
   */
  async #commitSteps(now: number, limit: number): Promise<void> {
    const steps: StepExecution[] = []
    for (const [id, record] of this.#dirty) {
      if (steps.length === limit) break
      steps.push(record)
      this.#dirty.delete(id)
    }
    const commit: RunCommit = { now, steps, run: {}, leaseExpiresAt: this.#lease.expiresAt }
    const outcome = await commitWithRetries(this.#env.store, this.#env.clock, this.#lease, commit, (err) =>
      this.#log('warn', 'persistence_error', { run_id: this.runId, operation: 'commit', error: err.message }),
    )
    if (outcome.kind === 'halted') this.#halt(outcome.reason, outcome.error)
  }

  /**
   * The first commit of a `create` execution: the run as this commit leaves it, created with the commit's steps.
   * Not retried on a store fault: the caller that asked for the run learns of it, as from a plain create.
   */
  async #create(commit: RunCommit): Promise<void> {
    const creating = this.#creating as Creating
    this.#creating = null
    const released = commit.leaseExpiresAt === null
    const run: RunRecord = {
      ...this.#run,
      ...commit.run,
      status: commit.run.status ?? this.#run.status,
      updatedAt: commit.now,
      leaseOwner: released ? null : this.#lease.owner,
      leaseExpiresAt: commit.leaseExpiresAt,
    }
    let result: CreateRunResult
    try {
      result = await this.#env.store.createRun(run, commit.steps)
    } catch (err) {
      this.#stopped = 'uncreated'
      creating.reject(err)
      return
    }
    creating.resolve(result)
    if (!result.created) {
      this.#stopped = 'uncreated'
      this.#run = result.run
      return
    }
    this.#run = run
    this.#renewedAt = commit.now
    this.#committed = true
    if (commit.leaseExpiresAt !== null) this.#lease = { ...this.#lease, expiresAt: commit.leaseExpiresAt }
  }

  /**
   * May be called from another request's context: sets the flags, then acts at once only if waking the loop
   * proved this is the owner's context (workerd runs abort listeners in the caller's context, where touching
   * the owner's timers fails); otherwise #afterStop aborts from the owner's context.
   */
  #halt(reason: 'cancelled' | 'lost', cause: Error): void {
    if (this.#stopped) return
    this.#stopped = reason
    this.#stopCause = cause
    if (!this.#wake.notify()) return
    try {
      this.#abortRunning()
    } catch {
      // Not the owner's context after all: #afterStop aborts from there.
    }
  }

  #abortRunning(): void {
    for (const slot of this.#slots.values()) slot.controller?.abort(this.#stopCause)
  }

  async #afterStop(): Promise<RunRecord> {
    // Nothing ran and nothing of ours is stored: the record we hold (the duplicate's, or ours unsaved) answers.
    if (this.#stopped === 'uncreated') return this.#run
    this.#abortRunning()
    // A commit still in flight lands or fails before the run is read back: nothing of this execution outlives it.
    this.#disarmSend()
    if (this.#inflight) await this.#inflight
    try {
      this.#run = await this.#env.store.getRun(this.runId)
    } catch {
      // The record we hold is the best answer we have.
    }
    if (this.#run.status === 'CANCELLED') this.#log('warn', 'workflow_cancelled', { run_id: this.runId })
    else this.#log('warn', 'lease_lost', { run_id: this.runId })
    return this.#run
  }

  /**
   * Waits for a settled attempt, a due wait, a lease renewal or a stop request. `seen` is the instant the loop
   * last decided at: a spent budget or a due wait it saw then changes nothing until a running step settles,
   * and that wakes the loop, so only what came due since counts (looking again at once would only spin).
   */
  #nextEvent(seen: number): Promise<void> {
    if (this.#settled.length > 0 || this.#stopped || this.#interrupting || this.#commitFault) return Promise.resolve()
    // The next commit behind the steps is due while the loop was busy: send what finished meanwhile.
    if (this.#sendDue && this.#inflight === null && this.#dirty.size > 0) return Promise.resolve()
    const now = this.#env.clock.now()
    const renewIn = this.#renewedAt + this.#env.leaseMs / 2 - now
    const budgetIn = this.#deadline > seen ? this.#deadline - now : Number.POSITIVE_INFINITY
    let wakeIn = Number.POSITIVE_INFINITY
    for (const slot of this.#waiting) if (slot.wakeAt > seen) wakeIn = Math.min(wakeIn, slot.wakeAt - now)
    return this.#wake.wait(Math.min(renewIn, budgetIn, wakeIn))
  }

  #log(level: 'debug' | 'info' | 'warn' | 'error', event: string, fields: LogFields): void {
    if (isLevelEnabled(this.#env.logger, level)) this.#env.logger.log(level, event, fields)
  }
}

/** A slot not started yet: a graph node's (blocked by its predecessors) or a map item's (blocked by nothing). */
function newSlot(node: WorkflowNode, index: number, config: ResolvedStepConfig, item: Slot['item']): Slot {
  return {
    node,
    index,
    config,
    successors: [],
    blockers: node.predecessors.length,
    record: null,
    phase: 'idle',
    attempt: 0,
    waitKind: null,
    wakeAt: 0,
    controller: null,
    continued: false,
    item,
    open: null,
  }
}

function byIndex(a: Slot, b: Slot): number {
  return a.index - b.index
}
