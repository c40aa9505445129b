/**
 * @module
 * The Durable Object of one run (wrangler.toml: binding `RUN_ALARMS`, class `RunAlarm`, a `new_sqlite_classes`
 * migration). `POST /arm` (from `run-alarms.ts`) remembers the run and sets the alarm to its due time, the earlier
 * one winning. `alarm()` executes the run here, where the platform allows 15 minutes of wall time, with a budget
 * (`BACKGROUND_BUDGET_MS`, default 5 minutes), then re-arms to the time the run is due again: at once when the
 * budget was spent, at the wake-up time of a sleep or retry, at the lease's expiry when another engine holds it. Before executing it sets a
 * watchdog alarm, so an invocation that dies mid-step is followed by another that resumes the run once its lease
 * expires. Executing in the object rather than fanning out keeps the run's wall time the object's
 * (docs/decisions.md#wake-ups-on-workers).
 */
import { isGorkflowError } from '../core/errors'
import type { Logger } from '../core/logger'
import { isTerminalRunStatus, type RunRecord } from '../core/model'
import { NEVER } from '../core/workflow'
import { errorFields, type Runtime } from './compose'
import type { DurableObjectStateLike } from './durable-object-types'
import { executingInAlarm } from './run-alarms'

/** When the alarm fires again should this invocation die: then the run is resumed at its lease's expiry. */
const WATCHDOG_MS = 30_000
/** A run whose execution failed (store down, a workflow this deployment lacks) is tried again after this. */
const RETRY_AFTER_FAILURE_MS = 30_000
const RUN_KEY = 'runId'

/** The hooks the object shares with the Worker's other handlers. */
export interface RunAlarmHooks<Env> {
  /** The Worker's runtime, with how long one alarm executes a run (`BACKGROUND_BUDGET_MS`). */
  readonly runtimeFor: (env: Env) => Promise<Runtime & { readonly alarmBudgetMs: number }>
  /** The logger when no runtime can be built. */
  readonly loggerFor: (env: Env) => Logger
}

/** A run's Durable Object: `POST /arm` with `{ runId, dueAt }`, and the alarm that executes the run. */
export interface RunAlarmObject {
  fetch(request: Request): Promise<Response>
  alarm(): Promise<void>
}

/** The class workerd instantiates for each run's object. */
export type RunAlarmClass<Env> = new (state: DurableObjectStateLike, env: Env) => RunAlarmObject

/** The `RunAlarm` Durable Object class of a Worker (export it from the Worker's main module under that name). */
export function runAlarmClass<Env extends object>(hooks: RunAlarmHooks<Env>): RunAlarmClass<Env> {
  return class RunAlarm implements RunAlarmObject {
    readonly #storage: DurableObjectStateLike['storage']
    readonly #env: Env
    #executing = false
    /** The earliest due time armed while the alarm executed the run, so the re-arm after it cannot lose it. */
    #armedMeanwhile: number | null = null

    constructor(state: DurableObjectStateLike, env: Env) {
      this.#storage = state.storage
      this.#env = env
    }

    async fetch(request: Request): Promise<Response> {
      const body = (await request.json().catch(() => null)) as { runId?: unknown; dueAt?: unknown } | null
      const { runId, dueAt } = body ?? {}
      if (typeof runId !== 'string' || typeof dueAt !== 'number' || !Number.isFinite(dueAt)) {
        return Response.json({ error: { code: 'INVALID_ARGUMENT', message: 'expected { runId, dueAt }' } }, { status: 400 })
      }
      if (this.#executing) {
        this.#armedMeanwhile = Math.min(this.#armedMeanwhile ?? dueAt, dueAt)
      } else {
        await this.#storage.put(RUN_KEY, runId)
        const current = await this.#storage.getAlarm()
        if (current === null || dueAt < current) await this.#storage.setAlarm(dueAt)
      }
      return new Response(null, { status: 204 })
    }

    async alarm(): Promise<void> {
      const runId = await this.#storage.get<string>(RUN_KEY)
      if (runId === undefined) return
      await this.#storage.setAlarm(Date.now() + WATCHDOG_MS)
      // Alarms of one object do not overlap; should one fire anyway, the running one re-arms when it returns.
      if (this.#executing) return
      this.#executing = true
      executingInAlarm.add(runId)
      let next: number | null
      try {
        next = await this.#execute(runId)
      } finally {
        this.#executing = false
        executingInAlarm.delete(runId)
      }
      if (this.#armedMeanwhile !== null) next = Math.min(next ?? this.#armedMeanwhile, this.#armedMeanwhile)
      this.#armedMeanwhile = null
      if (next !== null) return this.#storage.setAlarm(next)
      // Finished, paused or waiting for an event: nothing to wake. An arm (resume, event) stores the run again.
      await this.#storage.deleteAlarm()
      await this.#storage.deleteAll()
    }

    /** Executes the run within the budget and returns when it is due again, or null when never by itself. */
    async #execute(runId: string): Promise<number | null> {
      let runtime: Runtime & { readonly alarmBudgetMs: number }
      try {
        runtime = await hooks.runtimeFor(this.#env)
      } catch (err) {
        hooks.loggerFor(this.#env).log('error', 'alarm_failed', { run_id: runId, ...errorFields(err) })
        return Date.now() + RETRY_AFTER_FAILURE_MS
      }
      let run: RunRecord
      let failed = false
      try {
        run = await runtime.engine.execute(runId, { budgetMs: runtime.alarmBudgetMs })
      } catch (err) {
        if (isGorkflowError(err, 'RUN_NOT_FOUND')) return null
        // Lost to a cancel or another engine: the stored run says what is next.
        failed = !isGorkflowError(err, 'LEASE_LOST') && !isGorkflowError(err, 'RUN_ALREADY_FINISHED')
        if (failed) runtime.logger.log('error', 'alarm_failed', { run_id: runId, ...errorFields(err) })
        try {
          run = await runtime.store.getRun(runId)
        } catch (readErr) {
          if (isGorkflowError(readErr, 'RUN_NOT_FOUND')) return null
          return Date.now() + RETRY_AFTER_FAILURE_MS
        }
      }
      const now = Date.now()
      const due = dueAgain(run, now)
      return failed && due !== null ? Math.max(due, now + RETRY_AFTER_FAILURE_MS) : due
    }
  }
}

/** When `run`, as an execution left it, is due again; null when nothing but an operator or an event wakes it. */
export function dueAgain(run: RunRecord, now: number): number | null {
  if (isTerminalRunStatus(run.status) || run.status === 'PAUSED') return null
  // Held by another engine (or one that died): look again when its lease expires.
  if (run.leaseOwner !== null && run.leaseExpiresAt !== null) return Math.max(run.leaseExpiresAt, now)
  if (run.wakeAt === null) return now
  return run.wakeAt >= NEVER ? null : run.wakeAt
}
