/**
 * @module
 * The Worker's scheduler, client side: each run has a Durable Object (`RUN_ALARMS`, class `RunAlarm`,
 * `run-alarm.ts`) whose alarm is armed to the time the run is due, and which executes it then, with minutes of
 * wall time where `waitUntil` has ~30 s. Arming is one request to that object; the earliest due time wins.
 * Why alarms rather than Queues: docs/decisions.md#wake-ups-on-workers.
 */
import type { Logger } from '../core/logger'
import { NEVER } from '../core/workflow'
import { errorFields, type Runtime } from './compose'
import type { DurableObjectNamespaceLike } from './durable-object-types'

/** The object's only route; the host is never resolved (a stub's fetch goes to the object). */
export const ARM_URL = 'https://run-alarm/arm'
/** Longest a flush waits for arms in flight: an arm whose request ended is never answered. */
const FLUSH_LIMIT_MS = 5_000

/** Runs an alarm of this isolate is executing: their object re-arms itself when the execution returns. */
export const executingInAlarm = new Set<string>()

export class RunAlarms {
  readonly #namespace: DurableObjectNamespaceLike
  readonly #logger: Logger
  readonly #pending = new Set<Promise<void>>()

  constructor(namespace: DurableObjectNamespaceLike, logger: Logger) {
    this.#namespace = namespace
    this.#logger = logger
  }

  /** Arms the run's alarm at `dueAt` (epoch ms), unless it is armed earlier. Rejects when the object refuses. */
  async arm(runId: string, dueAt: number): Promise<void> {
    const stub = this.#namespace.get(this.#namespace.idFromName(runId))
    const res = await stub.fetch(new Request(ARM_URL, { method: 'POST', body: JSON.stringify({ runId, dueAt }) }))
    if (!res.ok) throw new Error(`the alarm of run ${runId} answered HTTP ${res.status}`)
  }

  /**
   * The engine's `onYield`: arms the run in the background ({@link flush} keeps the invocation alive for it). A
   * run waiting for an event with no deadline is armed by the event's delivery instead.
   */
  yielded(runId: string, dueAt: number): void {
    if (executingInAlarm.has(runId) || dueAt >= NEVER) return
    const armed = this.arm(runId, dueAt).catch((err: unknown) =>
      // The cron's sweep arms it within a minute.
      this.#logger.log('error', 'alarm_arm_failed', { run_id: runId, ...errorFields(err) }),
    )
    this.#pending.add(armed)
    void armed.finally(() => this.#pending.delete(armed))
  }

  /** Settles once the arms begun so far have, or after a bound: for `waitUntil`, so a response cuts none short. */
  async flush(): Promise<void> {
    if (this.#pending.size === 0) return
    let timer: ReturnType<typeof setTimeout> | undefined
    const bound = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, FLUSH_LIMIT_MS)
    })
    await Promise.race([Promise.allSettled([...this.#pending]), bound])
    clearTimeout(timer)
  }
}

/**
 * The cron's sweep when runs have alarms: arms every due run's alarm to now, so each executes in its own object
 * (with minutes, not the cron's `waitUntil`), and deletes finished runs past retention. Never rejects.
 */
export async function armDueRuns(
  runtime: Pick<Runtime, 'engine' | 'store' | 'logger'>,
  alarms: RunAlarms,
  limit: number,
): Promise<void> {
  const started = Date.now()
  try {
    const ids = await runtime.store.listDueRuns(started, limit)
    const results = await Promise.allSettled(ids.map((id) => alarms.arm(id, started)))
    const failed = results.filter((r) => r.status === 'rejected').length
    const deleted = await runtime.engine.pruneFinished()
    const fields = { armed: ids.length - failed, failed, deleted, duration_ms: Date.now() - started }
    runtime.logger.log(failed > 0 ? 'error' : ids.length + deleted > 0 ? 'info' : 'debug', 'sweep_finished', fields)
  } catch (err) {
    runtime.logger.log('error', 'sweep_failed', errorFields(err))
  }
}
