/**
 * @module
 * The engine: registry of workflows, `start`, `execute` (fresh or resumed — the same path), queries,
 * cancellation and the sweeper. It talks only to the {@link WorkflowStore} and a {@link Clock}.
 */
import { trace, type Tracer } from '@opentelemetry/api'
import { v7 as uuidv7 } from 'uuid'
import { childEventName, childRunId } from './child-run'
import { systemClock, type Clock } from './clock'
import {
  InvalidArgumentError,
  isGorkflowError,
  MigrationRefusedError,
  RunAlreadyFinishedError,
  RunStateConflictError,
  toError,
  unlessCode,
  WorkflowNotFoundError,
  WorkflowVersionNotFoundError,
} from './errors'
import { resolvePayloadLimits, toJsonWithin, type PayloadLimits } from './limits'
import { isLevelEnabled, silentLogger, type Logger } from './logger'
import { isTerminalRunStatus, type Json, type RunRecord, type RunStatus, type StepExecution, type WaitingFor } from './model'
import { RunExecution, type ExecutionOptions, type FinishedAttempt } from './run-execution'
import { ScheduledStarts, type ScheduleView } from './scheduled-starts'
import { validate } from './schema'
import type { StepDeps } from './step'
import { resolveStepConfig, type ResolvedStepConfig, type StepConfig } from './step-config'
import { startRunTrace, TRACER_NAME } from './run-trace'
import { runsOn, versionInventory, type Inventory } from './version-inventory'
import { parseMapItemId } from './map-items'
import { migrationMismatches, reusedSteps } from './version-migration'
import type { AnyWorkflow, WorkflowNode } from './workflow'
import type { Claim, CreateRunResult, RunFilter, RunPage, WorkflowStore } from './store'

export interface EngineOptions {
  readonly store: WorkflowStore
  readonly workflows: readonly AnyWorkflow[]
  /** Handed to every step as `ctx.deps`; never persisted. @default {} */
  readonly deps?: StepDeps
  /** @default systemClock */
  readonly clock?: Clock
  /**
   * Run ids and the default owner id. The default is a UUIDv7 (RFC 9562): time-ordered and monotonic within
   * the process, so runs created in one millisecond still list newest first by their id. @default uuid v7
   */
  readonly generateId?: () => string
  /** Source of retry jitter, in [0, 1). @default Math.random */
  readonly random?: () => number
  /** Identifies this engine in leases. @default a generated id */
  readonly ownerId?: string
  /**
   * How long a claim lasts without a commit. Renewed by every commit and, while a long step runs, at half-life.
   * Must exceed the time between commits you expect from a healthy engine. Minimum `100`. @default 30_000
   */
  readonly leaseMs?: number
  /**
   * Retry delays up to this are slept inline; longer ones persist `wakeAt`, release the lease and return, and
   * the sweeper continues the run when due. Sized for a Worker's `waitUntil` budget. Minimum `0`. @default 5_000
   */
  readonly inlineDelayLimitMs?: number
  /** Step options under every workflow's config (docs/decisions.md#configuration-merge). */
  readonly defaults?: StepConfig
  /**
   * Terminal runs older than this (by `completedAt`) are deleted with all their children by the sweeper.
   * DynamoDB can instead expire them by TTL (the store's `retentionSeconds`). @default keep forever
   */
  readonly retentionMs?: number
  /** @default silentLogger */
  readonly logger?: Logger
  /**
   * Whether each request's I/O belongs to it alone, as in workerd ("Cannot perform I/O on behalf of a different
   * request"). Then a cancel, pause or event that another request delivers only sets flags, and the execution
   * acts on them from its own request within 250 ms, instead of being woken at once. The Worker entry sets it;
   * leave it off on Node. @default false
   */
  readonly isolatedRequests?: boolean
  /**
   * Called when this engine releases a run that is not finished and not paused (it yielded: a long wait, a spent
   * budget, shutdown), with the time it is due again (epoch ms; now or past when it can continue at once). A
   * scheduler arms a timer or an alarm with it, so the run is picked up on time rather than at the next poll.
   * Runs released elsewhere are found by the sweeper ({@link WorkflowStore.listDueRuns}). Must not throw.
   */
  readonly onYield?: (runId: string, dueAt: number) => void
  /**
   * How long {@link Engine.shutdown} lets running attempts finish, in ms. Past it, their `ctx.signal` aborts
   * (ATTEMPT_INTERRUPTED), they are recorded as interrupted, not failed, and every lease is released with the run
   * due at once. 5 s leaves half of Docker's 10 s stop timeout (and most of Kubernetes' 30 s) for that commit.
   * Minimum `0`. @default 5_000
   */
  readonly shutdownGraceMs?: number
  /**
   * A claimed run whose version (or graph fingerprint, or workflow) is not registered here is released untouched
   * with its `wakeAt` this far ahead, so sweepers look at it again then instead of claiming it in every sweep;
   * an engine that has its version picks it up after at most this delay. Minimum `1000`. @default 60_000
   */
  readonly versionRecheckMs?: number
  /**
   * Where spans of runs and step attempts go (README "Traces"). A no-op unless an OpenTelemetry SDK is registered
   * or a tracer from one is passed. @default trace.getTracer('gorkflow')
   */
  readonly tracer?: Tracer
  /**
   * Called when a step attempt of a run executing here ends with an outcome (completed, skipped, failed; not a
   * wait or an interruption): what an operator's step duration histogram counts. Must be cheap; a throw is logged
   * and ignored.
   */
  readonly onAttemptFinished?: (attempt: FinishedAttempt) => void
  /**
   * Largest run input, step output, event payload and state value, as UTF-8 bytes of their JSON text (README
   * "Limits"). Each must be within the store's `payloadCeiling`. @default 1 MiB each, or the store's ceiling when lower
   */
  readonly limits?: Partial<PayloadLimits>
}

/** {@link EngineOptions.shutdownGraceMs}'s default. */
export const DEFAULT_SHUTDOWN_GRACE_MS = 5_000

export interface StartOptions {
  readonly resourceId?: string | null
  readonly tags?: Readonly<Record<string, string>>
  /** Persisted run metadata, available to steps as `ctx.context`. */
  readonly context?: Json
  /** A repeated start of the same workflow with the same key returns the existing run. */
  readonly idempotencyKey?: string | null
  /**
   * Whether the run is created leased to this engine, so executing it here needs no claim. False for a run that
   * a scheduler executes elsewhere (a Durable Object alarm), which must be able to claim it at once. @default true
   */
  readonly leased?: boolean
  /** The registered version to start on. @default the version registered last */
  readonly version?: string
  /**
   * W3C trace context to start the run under (a start request's `traceparent` header). @default the active
   * OpenTelemetry context, if any
   */
  readonly traceparent?: string | null
  /**
   * Where to POST the run's view once it is terminal (README, "Completion webhooks"); checked by the caller (the HTTP
   * layer's SSRF guard). @default the workflow's `webhook.url`, if any. Refused with INVALID_ARGUMENT on a store that
   * keeps no webhooks.
   */
  readonly webhookUrl?: string | null
}

/** A child run of a parent's child node, as the API lists it. */
export interface ChildRunSummary {
  readonly stepId: string
  readonly runId: string
  readonly workflowId: string
  readonly status: RunStatus
}

export interface StartResult {
  readonly run: RunRecord
  /** False when `idempotencyKey` matched an existing run. */
  readonly created: boolean
}

/** A run {@link Engine.begin} stored, and its execution. */
export interface BegunRun extends StartResult {
  /** Settles with the run final or yielded (at once, with the existing run, for an idempotent duplicate). */
  readonly done: Promise<RunRecord>
}

export interface SweepOptions {
  /** Most runs claimed by this sweep. @default 25 */
  readonly limit?: number
  /** Each claimed run yields after this many ms. @default unbounded */
  readonly budgetMs?: number
}

export interface SweepResult {
  readonly claimed: number
  readonly completed: number
  /** Runs released untouched because their version is not registered here (logged once per sweep). */
  readonly parked: number
  /** Terminal runs deleted by retention during this sweep. */
  readonly deleted: number
}

/** Runs one sweep executes concurrently: enough to overlap store latency, few enough for one isolate. */
const RUNS_SWEPT_AT_ONCE = 8
/** Terminal runs deleted per sweep, so retention never outlasts a cron invocation. */
const RETENTION_BATCH = 100

/** A run this engine claimed but may not execute: its version is not registered here. */
interface Parked {
  readonly run: RunRecord
  readonly waiting: Extract<WaitingFor, { kind: 'version' }>
}

/** What driving one run came to. */
interface Driven {
  readonly claimed: boolean
  readonly run: RunRecord
  readonly parked?: Parked
}

export class Engine {
  readonly store: WorkflowStore
  readonly ownerId: string
  /** The size limits in force (README "Limits"). */
  readonly limits: PayloadLimits
  /** Every registered version of each workflow id, in registration order: the last one is where new runs start. */
  readonly #workflows = new Map<string, AnyWorkflow[]>()
  readonly #clock: Clock
  readonly #generateId: () => string
  readonly #logger: Logger
  readonly #retentionMs: number | undefined
  readonly #onYield: ((runId: string, dueAt: number) => void) | undefined
  readonly #shutdownGraceMs: number
  /** Shutdown began: nothing new is claimed, and whatever still starts yields at once. */
  #closing = false
  readonly #versionRecheckMs: number
  readonly #env: ConstructorParameters<typeof RunExecution>[0]
  /** Runs this engine created and still holds the lease of: executing them needs no claim round trip. */
  readonly #fresh = new Map<string, { claim: Claim; seeded: boolean }>()
  readonly #active = new Map<string, { execution: RunExecution; done: Promise<RunRecord> }>()
  /**
   * Drives whose claim is in flight. A claim by this engine's own owner id succeeds on its own live lease, so two
   * drives of one run that overlap here (two sweeps, a sweep and an API call) must not both claim it.
   */
  readonly #claiming = new Map<string, Promise<{ claimed: boolean; run: RunRecord }>>()
  readonly #schedules: ScheduledStarts

  constructor(options: EngineOptions) {
    const leaseMs = options.leaseMs ?? 30_000
    const inlineDelayLimitMs = options.inlineDelayLimitMs ?? 5_000
    if (!Number.isSafeInteger(leaseMs) || leaseMs < 100) throw new InvalidArgumentError('leaseMs must be an integer >= 100')
    if (!Number.isSafeInteger(inlineDelayLimitMs) || inlineDelayLimitMs < 0) {
      throw new InvalidArgumentError('inlineDelayLimitMs must be an integer >= 0')
    }
    if (options.retentionMs !== undefined && (!Number.isSafeInteger(options.retentionMs) || options.retentionMs < 0)) {
      throw new InvalidArgumentError('retentionMs must be an integer >= 0')
    }
    const versionRecheckMs = options.versionRecheckMs ?? 60_000
    if (!Number.isSafeInteger(versionRecheckMs) || versionRecheckMs < 1000) {
      throw new InvalidArgumentError('versionRecheckMs must be an integer >= 1000')
    }
    this.#versionRecheckMs = versionRecheckMs
    this.limits = resolvePayloadLimits(options.limits, options.store.payloadCeiling, options.store.kind)
    this.#retentionMs = options.retentionMs
    this.#shutdownGraceMs = graceMs(options.shutdownGraceMs ?? DEFAULT_SHUTDOWN_GRACE_MS, 'shutdownGraceMs')
    this.#onYield = options.onYield
    for (const wf of options.workflows) {
      const versions = this.#workflows.get(wf.id) ?? []
      // One definition per version string: a run names only its version, so two graphs under one would be ambiguous.
      if (versions.some((v) => v.version === wf.version)) {
        throw new InvalidArgumentError(`workflow ${wf.id} version ${wf.version} is registered twice`)
      }
      this.#workflows.set(wf.id, [...versions, wf])
    }
    for (const wf of options.workflows) {
      for (const node of wf.steps) {
        if (node.wait?.kind === 'child' && !this.#workflows.has(node.wait.workflowId)) {
          throw new InvalidArgumentError(
            `workflow ${wf.id} step ${node.id} starts workflow ${node.wait.workflowId}, which is not registered on this engine`,
          )
        }
      }
    }
    this.store = options.store
    this.#clock = options.clock ?? systemClock
    this.#generateId = options.generateId ?? (() => uuidv7())
    this.ownerId = options.ownerId ?? `engine-${this.#generateId()}`
    this.#logger = options.logger ?? silentLogger
    const configs = new WeakMap<WorkflowNode, ResolvedStepConfig>()
    this.#env = {
      store: options.store,
      clock: this.#clock,
      logger: this.#logger,
      deps: options.deps ?? {},
      random: options.random ?? Math.random,
      leaseMs,
      inlineDelayLimitMs,
      isolatedRequests: options.isolatedRequests ?? false,
      tracer: options.tracer ?? trace.getTracer(TRACER_NAME),
      limits: this.limits,
      onAttemptFinished: options.onAttemptFinished,
      stepConfig: (wf, node) => {
        let config = configs.get(node)
        if (!config) {
          config = resolveStepConfig(options.defaults, wf.config, node.step.config)
          configs.set(node, config)
        }
        return config
      },
      startChild: (parentRunId, nodeId, workflowId, input) => this.#startChild(parentRunId, nodeId, workflowId, input),
    }
    this.#schedules = new ScheduledStarts({
      store: options.store,
      clock: this.#clock,
      workflows: () => this.listWorkflows(),
      getWorkflow: (workflowId) => this.getWorkflow(workflowId),
      start: (workflowId, input, startOptions) => this.start(workflowId, input, startOptions),
      log: (level, event, fields) => this.#log(level, event, fields),
    })
  }

  /**
   * Creates the child run of node `nodeId` of run `parentRunId` on the child workflow's current version, unleased,
   * and hands it to the scheduler (`onYield`); a child that exists already is returned as it is. One store write.
   */
  async #startChild(parentRunId: string, nodeId: string, workflowId: string, input: Json): Promise<RunRecord> {
    const wf = this.getWorkflow(workflowId)
    const runId = childRunId(parentRunId, nodeId)
    const options: StartOptions = { leased: false, idempotencyKey: `child:${runId}` }
    const record = { ...this.#newRecord(wf, await validInput(wf, input, this.limits), options, null, runId), parentRunId }
    const result = await this.#insert(record, []).catch(async (err: unknown) => {
      // A store that meets the taken run id before the idempotency key: the same child, started earlier.
      if (isGorkflowError(err, 'RUN_ALREADY_EXISTS')) return { run: await this.store.getRun(runId), created: false }
      throw err
    })
    if (result.created) {
      this.#log('info', 'child_started', { run_id: runId, parent_run_id: parentRunId, step_id: nodeId, workflow_id: wf.id })
      this.#onYield?.(runId, this.#clock.now())
    }
    return result.run
  }

  /**
   * Wakes the parent of a child that ended: delivers the child's internal event, which the store turns into the
   * parent being due at once (the same atomic rule as any awaited event). A parent that ended meanwhile, or was
   * woken already, needs nothing. A store fault is logged, not thrown: the child's end is already stored, and the
   * parent looks at its child after CHILD_RECHECK_MS anyway.
   */
  async #wakeParent(child: RunRecord): Promise<void> {
    const parentRunId = child.parentRunId
    if (parentRunId === null) return
    const name = childEventName(child.runId)
    const now = this.#clock.now()
    try {
      await this.store.deliverEvent(parentRunId, name, child.status, now)
    } catch (err) {
      const settled = ['RUN_NOT_FOUND', 'RUN_ALREADY_FINISHED', 'EVENT_ALREADY_DELIVERED'] as const
      if (settled.some((code) => isGorkflowError(err, code))) return
      this.#log('warn', 'parent_wake_failed', { run_id: child.runId, parent_run_id: parentRunId, error: toError(err).message })
      return
    }
    const active = this.#active.get(parentRunId)
    if (active) active.execution.eventArrived(name)
    else this.#onYield?.(parentRunId, now)
  }

  /** The child run ids a run's child nodes name (started or not). Empty when its definition is not registered here. */
  #childIds(run: RunRecord): { stepId: string; runId: string; workflowId: string }[] {
    const wf = this.definitionOf(run)
    if (!wf) return []
    return wf.steps.flatMap((node) =>
      node.wait?.kind === 'child' ? [{ stepId: node.id, runId: childRunId(run.runId, node.id), workflowId: node.wait.workflowId }] : [],
    )
  }

  /** The child runs a run has started (README "Child workflows"): one read per child node. @throws RunNotFoundError */
  async listChildren(runId: string): Promise<ChildRunSummary[]> {
    const run = await this.store.getRun(runId)
    const children: ChildRunSummary[] = []
    for (const child of this.#childIds(run)) {
      const found = await this.store.getRun(child.runId).catch(unlessCode(['RUN_NOT_FOUND'], null))
      if (found) children.push({ ...child, status: found.status })
    }
    return children
  }

  /** Applies `action` to each child of `run` that exists and is in a state it applies to. */
  async #forChildren(run: RunRecord, action: (childRunId: string) => Promise<unknown>): Promise<void> {
    for (const { runId } of this.#childIds(run)) {
      await action(runId).catch(unlessCode(['RUN_NOT_FOUND', 'RUN_ALREADY_FINISHED', 'RUN_STATE_CONFLICT'], undefined))
    }
  }

  /** The current version (registered last) of each workflow. */
  listWorkflows(): AnyWorkflow[] {
    return [...this.#workflows.values()].map((versions) => versions[versions.length - 1] as AnyWorkflow)
  }

  /** Every registered version of a workflow, in registration order (the last is current). @throws WorkflowNotFoundError */
  listWorkflowVersions(workflowId: string): AnyWorkflow[] {
    const versions = this.#workflows.get(workflowId)
    if (!versions) throw new WorkflowNotFoundError(workflowId)
    return [...versions]
  }

  /**
   * A registered definition: the given version, or the current one.
   * @throws WorkflowNotFoundError, WorkflowVersionNotFoundError
   */
  getWorkflow(workflowId: string, version?: string): AnyWorkflow {
    const versions = this.listWorkflowVersions(workflowId)
    if (version === undefined) return versions[versions.length - 1] as AnyWorkflow
    const wf = versions.find((v) => v.version === version)
    if (!wf) throw new WorkflowVersionNotFoundError(workflowId, version, versions.map((v) => v.version))
    return wf
  }

  /**
   * In-flight runs (PENDING, RUNNING, PAUSED) by workflow and version, beside the registered versions; with no
   * `workflowId`, of every workflow, including ids no longer registered. One read per in-flight run.
   */
  versionInventory(workflowId?: string): Promise<Inventory> {
    if (workflowId !== undefined) this.listWorkflowVersions(workflowId)
    return versionInventory(this.store, this.#workflows, workflowId)
  }

  /** The registered definition `run` continues on (same workflow, version and graph), or null when there is none here. */
  definitionOf(run: RunRecord): AnyWorkflow | null {
    return this.#workflows.get(run.workflowId)?.find((wf) => runsOn(wf, run.workflowVersion, run.workflowFingerprint)) ?? null
  }

  /** The definition `run` continues on. @throws WorkflowNotFoundError, WorkflowVersionNotFoundError */
  #requireDefinitionOf(run: RunRecord): AnyWorkflow {
    const wf = this.definitionOf(run)
    if (wf) return wf
    const versions = this.listWorkflowVersions(run.workflowId).map((v) => v.version)
    throw new WorkflowVersionNotFoundError(run.workflowId, `${run.workflowVersion} (graph ${run.workflowFingerprint ?? '?'})`, versions)
  }

  /**
   * Validates the input and persists a PENDING run leased to this engine (one store write). Execution is
   * separate: call {@link execute} now, in `waitUntil`, or leave it to the sweeper.
   * @throws WorkflowNotFoundError, ValidationError (VALIDATION_ERROR with the schema's issues)
   */
  async start(workflowId: string, input: unknown, options: StartOptions = {}): Promise<StartResult> {
    const wf = this.getWorkflow(workflowId, options.version)
    return this.#create(wf, await validInput(wf, input, this.limits), options, null, [])
  }

  /**
   * `start` and `execute` at once, with the run's creation and its first step boundary in one store write: the
   * run is created RUNNING with its entry steps' first attempts started, so an N-step sequential run costs N + 1
   * store calls instead of N + 2. Resolves once the run is stored; `done` settles with it final or yielded.
   * Only for callers that execute now: should this process die before the handlers run, those attempts count
   * as interrupted ones (as after any crash), where a `start`ed run would simply wait for the sweeper.
   * A run under a per-resource concurrency limit is created PENDING and claimed through the slot check; an
   * idempotent duplicate is returned with `created: false` and `done` settled with it, not executed.
   * @throws WorkflowNotFoundError, ValidationError, and the store's createRun errors
   */
  async begin(workflowId: string, input: unknown, options: StartOptions & ExecutionOptions = {}): Promise<BegunRun> {
    const wf = this.getWorkflow(workflowId, options.version)
    const record = this.#newRecord(wf, await validInput(wf, input, this.limits), options, null, this.#generateId())
    if (record.leaseOwner === null || record.leaseExpiresAt === null) {
      const result = await this.#insert(record, [])
      const done = result.created ? this.execute(record.runId, options) : Promise.resolve(result.run)
      return { ...result, done }
    }
    const lease = { runId: record.runId, owner: this.ownerId, expiresAt: record.leaseExpiresAt }
    const execution = new RunExecution(this.#env, wf, { lease, run: record, steps: [] }, options, 'create')
    const following = this.#follow(execution, options)
    // A failed or duplicate creation stops the execution before any step: it winds down before we answer.
    const result = await (execution.created as Promise<CreateRunResult>).catch(async (err: unknown) => {
      await following.catch(() => null)
      throw err
    })
    if (!result.created) {
      await following
      return { ...result, done: Promise.resolve(result.run) }
    }
    this.#log('info', 'workflow_created', { run_id: record.runId, workflow_id: wf.id, resource_id: record.resourceId })
    this.#log('info', 'workflow_started', { run_id: record.runId, workflow_id: wf.id, resource_id: record.resourceId })
    return { ...result, done: following.then((r) => r.run) }
  }

  /**
   * Persists a new run. A run under a per-resource concurrency limit is created without a lease, so its first
   * claim goes through the store's slot check; any other run is created leased to this engine, so executing
   * it here needs no claim round trip.
   */
  async #create(
    wf: AnyWorkflow,
    input: Json,
    options: StartOptions,
    retryOf: string | null,
    seed: StepExecution[],
    runId = this.#generateId(),
  ): Promise<StartResult> {
    return this.#insert(this.#newRecord(wf, input, options, retryOf, runId), seed)
  }

  /** Creates `record`; a leased one is remembered as this engine's, so executing it needs no claim. */
  async #insert(record: RunRecord, seed: StepExecution[]): Promise<StartResult> {
    const result = await this.store.createRun(record)
    if (result.created) {
      const { runId, leaseExpiresAt } = record
      if (leaseExpiresAt !== null) {
        const lease = { runId, owner: this.ownerId, expiresAt: leaseExpiresAt }
        this.#fresh.set(runId, { claim: { lease, run: result.run, steps: seed }, seeded: seed.length > 0 })
      }
      this.#log('info', 'workflow_created', { run_id: runId, workflow_id: record.workflowId, resource_id: record.resourceId })
    }
    return result
  }

  /** A new PENDING run of `wf`: leased to this engine unless a per-resource concurrency limit applies. */
  #newRecord(wf: AnyWorkflow, input: Json, options: StartOptions, retryOf: string | null, runId: string): RunRecord {
    const now = this.#clock.now()
    const resourceId = options.resourceId ?? null
    const concurrencyLimit = wf.concurrency !== null && resourceId !== null ? wf.concurrency.limit : null
    const leased = concurrencyLimit === null && options.leased !== false
    const webhookUrl = options.webhookUrl ?? wf.webhook?.url ?? null
    if (webhookUrl !== null && !this.store.listDueWebhooks) {
      throw new InvalidArgumentError(`callbackUrl: the ${this.store.kind} store does not keep completion webhooks`)
    }
    return {
      runId,
      workflowId: wf.id,
      workflowVersion: wf.version,
      workflowFingerprint: wf.fingerprint,
      status: 'PENDING',
      progress: 0,
      input,
      output: null,
      error: null,
      resourceId,
      tags: { ...wf.tags, ...options.tags },
      context: options.context === undefined ? null : toJson(options.context),
      idempotencyKey: options.idempotencyKey ?? null,
      createdAt: now,
      startedAt: null,
      completedAt: null,
      updatedAt: now,
      leaseOwner: leased ? this.ownerId : null,
      leaseExpiresAt: leased ? now + this.#env.leaseMs : null,
      wakeAt: null,
      cancelRequestedAt: null,
      waitingFor: null,
      retryOf,
      retriedBy: null,
      parentRunId: null,
      concurrencyLimit,
      traceparent: startRunTrace(this.#env.tracer, { runId, workflowId: wf.id, workflowVersion: wf.version }, options.traceparent),
      // Due at once, but listed only once the run is terminal (see WorkflowStore.listDueWebhooks).
      webhook: webhookUrl === null ? null : { url: webhookUrl, attempts: 0, lastStatus: null, nextAttemptAt: now, deliveredAt: null },
    }
  }

  /**
   * Drives a run from its persisted state until it is terminal or must yield, and returns it. Returns the
   * stored run unchanged when another engine holds it or it is not due. Step failures are not thrown: they
   * end in the run's status and error.
   */
  execute(runId: string, options: ExecutionOptions = {}): Promise<RunRecord> {
    return this.#drive(runId, options).then((r) => {
      if (r.parked) this.#logParked([r.parked])
      return r.run
    })
  }

  #drive(runId: string, options: ExecutionOptions): Promise<Driven> {
    const active = this.#active.get(runId)
    if (active) return active.done.then((run) => ({ claimed: false, run }))
    const claiming = this.#claiming.get(runId)
    if (claiming) return claiming.then(({ run }) => ({ claimed: false, run }))
    const drive = this.#claimAndRun(runId, options).finally(() => this.#claiming.delete(runId))
    this.#claiming.set(runId, drive)
    return drive
  }

  async #claimAndRun(runId: string, options: ExecutionOptions): Promise<Driven> {
    const fresh = this.#fresh.get(runId)
    this.#fresh.delete(runId)
    let claim = fresh?.claim
    if (!claim) {
      const claimed = await this.store.claimRun(runId, this.ownerId, this.#clock.now(), this.#env.leaseMs)
      if (!claimed) return { claimed: false, run: await this.store.getRun(runId) }
      claim = claimed
    }
    const wf = this.definitionOf(claim.run)
    if (!wf) {
      const parked = await this.#park(claim)
      return { claimed: false, run: parked.run, parked }
    }
    const execution = new RunExecution(this.#env, wf, claim, options, fresh?.seeded ? 'seeded' : 'claimed')
    if (claim.run.startedAt === null) {
      this.#log('info', 'workflow_started', { run_id: runId, workflow_id: wf.id, resource_id: claim.run.resourceId })
    }
    return this.#follow(execution, options)
  }

  /**
   * Runs `execution` as this engine's active one for its run. When its yield met an event delivered meanwhile,
   * the store has made the run due at once (see the store port's rules): continue it here instead of waiting for
   * the sweeper.
   */
  async #follow(execution: RunExecution, options: ExecutionOptions): Promise<Driven> {
    const { runId } = execution
    const done = execution.execute().finally(() => this.#active.delete(runId))
    this.#active.set(runId, { execution, done: done.then((r) => r.run) })
    if (this.#closing) execution.yieldSoon()
    const { run, dueAgain } = await done
    if (isTerminalRunStatus(run.status)) await this.#wakeParent(run)
    if (dueAgain && !this.#closing) return this.#claimAndRun(runId, options)
    if (run.leaseOwner === null && run.status !== 'PAUSED' && !isTerminalRunStatus(run.status)) {
      this.#onYield?.(runId, run.wakeAt ?? this.#clock.now())
    }
    return { claimed: true, run }
  }

  /**
   * Releases a claimed run whose version this engine does not have, untouched but for `waitingFor` (shown by the
   * API) and a `wakeAt` {@link EngineOptions.versionRecheckMs} ahead, so no sweeper claims it again and again
   * meanwhile (listDueRuns returns the oldest due runs first: a run released as due would come back at the head
   * of every sweep). No step runs, no attempt is counted, and `onYield` is not told: the run is not due here.
   */
  async #park(claim: Claim): Promise<Parked> {
    const { run } = claim
    const now = this.#clock.now()
    const waiting = {
      kind: 'version',
      version: run.workflowVersion,
      fingerprint: run.workflowFingerprint,
      sameVersionOtherGraph: (this.#workflows.get(run.workflowId) ?? []).some((wf) => wf.version === run.workflowVersion),
      until: now + this.#versionRecheckMs,
    } as const
    await this.store.commit(claim.lease, { now, steps: [], run: { wakeAt: waiting.until, waitingFor: waiting }, leaseExpiresAt: null })
    const parked = { ...run, wakeAt: waiting.until, waitingFor: waiting, leaseOwner: null, leaseExpiresAt: null, updatedAt: now }
    return { run: parked, waiting }
  }

  /**
   * One warning for all the runs a sweep (or an execute) found on versions not registered here, grouped by
   * workflow, version and fingerprint: one line per sweep however many runs wait.
   */
  #logParked(parked: readonly Parked[]): void {
    if (parked.length === 0 || !isLevelEnabled(this.#logger, 'warn')) return
    const groups = new Map<string, { label: string; runs: number; bump: boolean }>()
    for (const { run, waiting } of parked) {
      const label = `${run.workflowId}@${waiting.version}#${waiting.fingerprint ?? '?'}`
      const group = groups.get(label) ?? { label, runs: 0, bump: waiting.sameVersionOtherGraph }
      group.runs++
      groups.set(label, group)
    }
    const bumps = [...groups.values()].filter((g) => g.bump).map((g) => g.label)
    this.#log('warn', 'runs_waiting_for_version', {
      runs: parked.length,
      versions: [...groups.values()].map((g) => `${g.label} (${g.runs})`).join(', '),
      recheck_ms: this.#versionRecheckMs,
      hint:
        bumps.length === 0
          ? 'these versions are not registered here: keep them deployed until their runs drain, or migrate or cancel the runs'
          : `${bumps.join(', ')}: a definition with the same version string but another graph is registered here; ` +
            'this looks like a forgotten version bump',
    })
  }

  /** `begin`: the run in its final (or yielded) state; an idempotent duplicate is executed (claimed) as found. */
  async run(workflowId: string, input: unknown, options: StartOptions & ExecutionOptions = {}): Promise<RunRecord> {
    const begun = await this.begin(workflowId, input, options)
    return begun.created ? begun.done : this.execute(begun.run.runId, options)
  }

  /** @throws RunNotFoundError */
  getRun(runId: string): Promise<RunRecord> {
    return this.store.getRun(runId)
  }

  listRuns(filter: RunFilter = {}): Promise<RunPage> {
    return this.store.listRuns(filter)
  }

  listSteps(runId: string): Promise<StepExecution[]> {
    return this.store.listStepExecutions(runId)
  }

  /** @throws StepOutputNotFoundError */
  getStepOutput(runId: string, stepId: string): Promise<Json> {
    return this.store.loadStepOutput(runId, stepId)
  }

  getState(runId: string): Promise<Record<string, Json>> {
    return this.store.getAllState(runId)
  }

  /**
   * Persists cancellation (one conditional write); an engine executing the run elsewhere stops at its next
   * commit or lease renewal, and here the running steps' signals abort at once (docs/decisions.md#cancellation).
   * @throws RunNotFoundError, RunAlreadyFinishedError
   */
  async cancel(runId: string): Promise<RunRecord> {
    const record = await this.store.cancelRun(runId, this.#clock.now())
    this.#fresh.delete(runId)
    this.#active.get(runId)?.execution.cancelled(record)
    this.#log('warn', 'workflow_cancelled', { run_id: runId })
    await this.#forChildren(record, (id) => this.cancel(id))
    await this.#wakeParent(record)
    return record
  }

  /**
   * Pauses a PENDING or RUNNING run at its next step boundary: the running steps finish and commit, nothing
   * new starts, the lease is released and the run stays PAUSED (never swept) until {@link resume}. Sleeps and
   * event waits keep their deadlines and are acted on after resume.
   * @throws RunNotFoundError, RunAlreadyFinishedError, RunStateConflictError (already PAUSED)
   */
  async pause(runId: string): Promise<RunRecord> {
    const record = await this.store.transitionRun(runId, { from: ['PENDING', 'RUNNING'], to: 'PAUSED', now: this.#clock.now() })
    this.#active.get(runId)?.execution.pauseRequested()
    this.#log('info', 'workflow_pause_requested', { run_id: runId })
    await this.#forChildren(record, (id) => this.pause(id))
    return record
  }

  /**
   * Sets a PAUSED run RUNNING again; it is due at once (or when its earliest wait ends). Call
   * {@link execute} to continue it here, or leave it to the sweeper.
   * @throws RunNotFoundError, RunAlreadyFinishedError, RunStateConflictError (not PAUSED)
   */
  async resume(runId: string): Promise<RunRecord> {
    const record = await this.store.transitionRun(runId, { from: ['PAUSED'], to: 'RUNNING', now: this.#clock.now() })
    this.#log('info', 'workflow_resumed', { run_id: runId })
    await this.#forChildren(record, (id) => this.resume(id))
    return record
  }

  /**
   * Delivers event `name` to a run whose workflow waits for it, after validating the payload against the
   * wait's schema. Kept if the run has not reached the wait yet; wakes it if it is waiting. Once per name.
   * @throws RunNotFoundError, RunAlreadyFinishedError, EventAlreadyDeliveredError,
   *   InvalidArgumentError (the workflow has no such wait), ValidationError (the payload)
   */
  async sendEvent(runId: string, name: string, payload: unknown): Promise<RunRecord> {
    const run = await this.store.getRun(runId)
    if (isTerminalRunStatus(run.status)) throw new RunAlreadyFinishedError(runId, run.status)
    const wf = this.#requireDefinitionOf(run)
    const wait = wf.steps.map((n) => n.wait).find((w) => w?.kind === 'event' && w.name === name)
    if (wait?.kind !== 'event') throw new InvalidArgumentError(`workflow ${wf.id} waits for no event named ${JSON.stringify(name)}`)
    if (wait.schema) await validate(wait.schema, payload, `payload of event ${name}`)
    const value = toJsonWithin(payload, this.limits.eventPayloadBytes, 'eventPayloadBytes', `payload of event ${name}`)
    const updated = await this.store.deliverEvent(runId, name, value, this.#clock.now())
    this.#active.get(runId)?.execution.eventArrived(name)
    this.#log('info', 'event_delivered', { run_id: runId, event: name })
    return updated
  }

  /**
   * Retries a FAILED run as a new run of the same workflow and input, linked both ways (`retryOf`,
   * `retriedBy`). Steps that COMPLETED or were SKIPPED keep their outputs and are not executed again, except
   * `fromStep` and everything downstream of it when given. The new run is leased here (unless `leased: false`):
   * {@link execute} it.
   * @throws RunNotFoundError, RunStateConflictError (not FAILED, or already retried), InvalidArgumentError (fromStep)
   */
  async retry(runId: string, options: { readonly fromStep?: string; readonly leased?: boolean } = {}): Promise<RunRecord> {
    const failed = await this.store.getRun(runId)
    if (failed.status !== 'FAILED') {
      throw new RunStateConflictError(runId, failed.status, `only FAILED runs can be retried; run ${runId} is ${failed.status}`)
    }
    if (failed.retriedBy !== null) {
      throw new RunStateConflictError(runId, failed.status, `run ${runId} was already retried by ${failed.retriedBy}`)
    }
    const wf = this.#requireDefinitionOf(failed)
    const rerun = new Set<string>()
    if (options.fromStep !== undefined) {
      if (!wf.steps.some((n) => n.id === options.fromStep)) {
        throw new InvalidArgumentError(`workflow ${wf.id} has no step ${JSON.stringify(options.fromStep)}`)
      }
      // A map, not `find` per step: retrying a 25,000-step run from its first step stays linear.
      const nodes = new Map(wf.steps.map((n) => [n.id, n]))
      const stack = [options.fromStep]
      for (let id = stack.pop(); id !== undefined; id = stack.pop()) {
        if (rerun.has(id)) continue
        rerun.add(id)
        for (const next of nodes.get(id)?.successors ?? []) stack.push(next)
      }
    }
    // A map that runs again runs all its items again.
    const steps = reusedSteps(await this.store.listStepExecutions(runId)).filter(
      (s) => !rerun.has(s.stepId) && !rerun.has(parseMapItemId(s.stepId)?.mapId ?? s.stepId),
    )
    const { run, reused } = await this.#rerun(failed, wf, steps, options.leased)
    this.#log('info', 'workflow_retried', { run_id: run.runId, retry_of: runId, reused_steps: reused })
    return run
  }

  /**
   * Moves a run to another registered version of its workflow, when every step that completed exists there with
   * the same id and kind, schemas that accept what was recorded, and its predecessors there completed too. Built
   * on {@link retry}: a PENDING, RUNNING or PAUSED run is cancelled, and a new run on the target version, linked
   * both ways (`retryOf`, `retriedBy`), reuses the completed steps' outputs and gets the run's state and delivered
   * events. A FAILED or CANCELLED run (not yet retried) moves the same way. The new run is leased here:
   * {@link execute} it.
   * @throws RunNotFoundError, WorkflowVersionNotFoundError, MigrationRefusedError (listing every mismatch; nothing
   *   changed), RunAlreadyFinishedError (COMPLETED), RunStateConflictError (already retried or migrated),
   *   InvalidArgumentError (already on that version)
   */
  async migrate(runId: string, target: { readonly version: string }): Promise<RunRecord> {
    const run = await this.store.getRun(runId)
    if (run.status === 'COMPLETED') throw new RunAlreadyFinishedError(runId, run.status)
    if (run.retriedBy !== null) {
      throw new RunStateConflictError(runId, run.status, `run ${runId} was already retried or migrated by ${run.retriedBy}`)
    }
    const wf = this.getWorkflow(run.workflowId, target.version)
    if (runsOn(wf, run.workflowVersion, run.workflowFingerprint)) {
      throw new InvalidArgumentError(`run ${runId} already runs on version ${wf.version}`)
    }
    const steps = await this.store.listStepExecutions(runId)
    const mismatches = await migrationMismatches(run, steps, wf, this.definitionOf(run))
    if (mismatches.length > 0) throw new MigrationRefusedError(runId, wf.version, mismatches)
    // Cancel first: of a migration and anything else ending the run, exactly one wins.
    if (!isTerminalRunStatus(run.status)) await this.cancel(runId)
    const { run: moved, reused } = await this.#rerun(run, wf, reusedSteps(steps))
    const now = this.#clock.now()
    for (const [key, value] of Object.entries(await this.store.getAllState(runId))) {
      await this.store.saveState(moved.runId, key, value, now)
    }
    for (const node of wf.steps) {
      if (node.wait?.kind !== 'event') continue
      const event = await this.store.loadEvent(runId, node.wait.name).catch(unlessCode(['EVENT_NOT_FOUND'], null))
      if (event) await this.store.deliverEvent(moved.runId, event.name, event.payload, now)
    }
    this.#log('warn', 'workflow_migrated', {
      run_id: moved.runId,
      migrated_from: runId,
      from_version: run.workflowVersion,
      to_version: wf.version,
      reused_steps: reused,
    })
    return moved
  }

  /** A new run of `wf` for `source`'s input, linked to it both ways, reusing `steps`' outputs. */
  async #rerun(
    source: RunRecord,
    wf: AnyWorkflow,
    steps: readonly StepExecution[],
    leased?: boolean,
  ): Promise<{ run: RunRecord; reused: number }> {
    const newRunId = this.#generateId()
    const now = this.#clock.now()
    const seed = steps.map((s): StepExecution => ({ ...s, runId: newRunId, createdAt: now, updatedAt: now }))
    // Link first: of two concurrent retries exactly one wins the link, and only the winner creates a run.
    await this.store.linkRetry(source.runId, newRunId, now)
    const startOptions: StartOptions = {
      ...(leased === undefined ? {} : { leased }),
      resourceId: source.resourceId,
      tags: source.tags,
      ...(source.context === null ? {} : { context: source.context }),
      // The retry continues the failed run's trace (README "Traces").
      traceparent: source.traceparent,
    }
    const { run } = await this.#create(wf, source.input, startOptions, source.runId, seed, newRunId)
    return { run, reused: seed.length }
  }

  /**
   * The sweeper: claims runs that are due (PENDING or RUNNING with no live lease, or whose `wakeAt` passed)
   * and executes them. Safe to run from any number of engines at once: each run is claimed by one.
   */
  async resumeDue(options: SweepOptions = {}): Promise<SweepResult> {
    const ids = await this.store.listDueRuns(this.#clock.now(), options.limit ?? 25)
    let claimed = 0
    let completed = 0
    const parked: Parked[] = []
    const queue = ids.filter((id) => !this.#active.has(id) && !this.#claiming.has(id))
    const budget = options.budgetMs === undefined ? {} : { budgetMs: options.budgetMs }
    const worker = async () => {
      for (let id = queue.shift(); id !== undefined && !this.#closing; id = queue.shift()) {
        try {
          const result = await this.#drive(id, budget)
          if (result.claimed) claimed++
          if (result.parked) parked.push(result.parked)
          if (result.claimed && isTerminalRunStatus(result.run.status)) completed++
        } catch (err) {
          // One bad run (unknown workflow, store fault) must not stop the sweep of the others.
          if (!isGorkflowError(err)) throw err
          this.#log('error', 'sweep_error', { run_id: id, code: err.code })
        }
      }
    }
    await Promise.all(Array.from({ length: Math.min(RUNS_SWEPT_AT_ONCE, queue.length) }, worker))
    this.#logParked(parked)
    return { claimed, completed, parked: parked.length, deleted: await this.pruneFinished() }
  }

  /**
   * Starts the run of each schedule tick due at `now`, once across every engine ({@link ScheduledStarts.fire}).
   * Returns how many runs it created.
   */
  fireSchedules(now: number = this.#clock.now()): Promise<number> {
    return this.#schedules.fire(now)
  }

  /** The first tick after `now` of any schedule not paused as of this engine's last look, or null. */
  nextScheduledTick(now: number = this.#clock.now()): number | null {
    return this.#schedules.nextFireAt(now)
  }

  /** The schedules of the current workflow versions, with their state (one store read; none without schedules). */
  listSchedules(): Promise<ScheduleView[]> {
    return this.#schedules.list()
  }

  /** @throws WorkflowNotFoundError, ScheduleNotFoundError */
  pauseSchedule(workflowId: string): Promise<ScheduleView> {
    return this.#schedules.pause(workflowId)
  }

  /** @throws WorkflowNotFoundError, ScheduleNotFoundError */
  resumeSchedule(workflowId: string): Promise<ScheduleView> {
    return this.#schedules.resume(workflowId)
  }

  /** Deletes one batch of terminal runs older than `retentionMs` (the sweeper's last task); returns how many. */
  async pruneFinished(): Promise<number> {
    if (this.#retentionMs === undefined) return 0
    return this.store.deleteFinishedRuns(this.#clock.now() - this.#retentionMs, RETENTION_BATCH)
  }

  /**
   * Starts nothing new, lets running attempts finish for `graceMs`, then aborts the rest through `ctx.signal` and
   * records them as interrupted (docs/decisions.md#interrupted-attempts); commits, and releases every lease this
   * engine holds with the run due at once, so another engine continues it without waiting for a lease to expire.
   * Handlers that ignore the signal are not waited for.
   */
  async shutdown(options: { readonly graceMs?: number } = {}): Promise<void> {
    const grace = options.graceMs === undefined ? this.#shutdownGraceMs : graceMs(options.graceMs, 'graceMs')
    this.#closing = true
    for (const { execution } of this.#active.values()) execution.yieldSoon()
    let cancelGrace = () => {}
    const graceOver = new Promise<boolean>((resolve) => {
      cancelGrace = this.#clock.timer(grace, () => resolve(true))
    })
    const overdue = await Promise.race([this.#drained().then(() => false), graceOver])
    cancelGrace()
    if (overdue) {
      for (const { execution } of this.#active.values()) execution.interrupt()
      await this.#drained()
    }
    for (const [runId, { claim }] of this.#fresh) {
      const released = await this.store
        .commit(claim.lease, { now: this.#clock.now(), steps: [], run: {}, leaseExpiresAt: null })
        .then(() => true, () => false)
      if (released) this.#onYield?.(runId, this.#clock.now())
    }
    this.#fresh.clear()
  }

  /** Resolves once no execution is active (one may start while others wind down: `#follow` makes it yield). */
  async #drained(): Promise<void> {
    while (this.#active.size > 0) await Promise.allSettled([...this.#active.values()].map((a) => a.done))
  }

  #log(level: 'info' | 'warn' | 'error', event: string, fields: Record<string, string | number | null>): void {
    if (isLevelEnabled(this.#logger, level)) this.#logger.log(level, event, fields)
  }
}

/** The run input after the workflow's schema, as the store will hold it. @throws ValidationError, PayloadTooLargeError */
async function validInput(wf: AnyWorkflow, input: unknown, limits: PayloadLimits): Promise<Json> {
  const value = wf.inputSchema ? await validate(wf.inputSchema, input, `input of workflow ${wf.id}`) : input
  return toJsonWithin(value, limits.runInputBytes, 'runInputBytes', `input of workflow ${wf.id}`)
}

function graceMs(value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value < 0) throw new InvalidArgumentError(`${name} must be an integer >= 0`)
  return value
}

function toJson(value: unknown): Json {
  return value === undefined ? null : (JSON.parse(JSON.stringify(value)) as Json)
}
