/**
 * @module
 * Scheduled starts (README "Scheduled starts"): firing each due tick of the registered workflows' cron schedules
 * once across every engine, and listing, pausing and resuming them. The engine owns one and delegates to it; the
 * pure tick arithmetic is `schedule.ts`.
 */
import { isGorkflowError, ScheduleNotFoundError } from './errors'
import type { Clock } from './clock'
import type { Json } from './model'
import { dueTick, latestTick, nextTick, tickKey, type MissedTicks } from './schedule'
import type { ScheduleState, WorkflowStore } from './store'
import type { AnyWorkflow } from './workflow'

/** A workflow's schedule as the API and the dashboard show it. */
export interface ScheduleView {
  readonly workflowId: string
  readonly cron: string
  readonly timezone: string | null
  readonly missed: MissedTicks
  readonly paused: boolean
  /** The next tick (epoch ms); null while paused or when the pattern has no more ticks. */
  readonly nextFireAt: number | null
  /** The newest tick fired (epoch ms), or null. */
  readonly lastFiredAt: number | null
}

/** What scheduled starts need of the engine: function-shaped, so they hold no reference to it. */
export interface ScheduledStartsDeps {
  readonly store: WorkflowStore
  readonly clock: Clock
  /** The current version of every registered workflow. */
  readonly workflows: () => AnyWorkflow[]
  /** @throws WorkflowNotFoundError */
  readonly getWorkflow: (workflowId: string) => AnyWorkflow
  readonly start: (
    workflowId: string,
    input: Json,
    options: { readonly idempotencyKey: string; readonly leased: false },
  ) => Promise<{ readonly created: boolean }>
  readonly log: (level: 'error', event: string, fields: Record<string, string | number | null>) => void
}

export class ScheduledStarts {
  readonly #deps: ScheduledStartsDeps
  /** Schedules paused as of the last look at the store: no timer is armed for their ticks. */
  #paused = new Set<string>()

  constructor(deps: ScheduledStartsDeps) {
    this.#deps = deps
  }

  /**
   * Starts the run of each schedule tick that is due at `now` (README "Scheduled starts"): for each current
   * workflow version with a schedule that is not paused, the newest tick at or before `now`, when it is later than
   * the newest tick fired and the missed-ticks policy allows it. The run is created PENDING without a lease (a
   * sweep executes it) with the idempotency key of its tick, so any number of engines firing at once start one
   * run; then the tick is recorded as fired. One store read, plus a create and a write per tick fired; none when
   * no workflow has a schedule. Never throws for a store or input fault: it is logged (`schedule_failed`) and the
   * next call tries again. Returns how many runs it created.
   */
  async fire(now: number = this.#deps.clock.now()): Promise<number> {
    const scheduled = this.#deps.workflows().filter((wf) => wf.schedule !== null)
    if (scheduled.length === 0) return 0
    let states: Map<string, ScheduleState>
    try {
      states = await this.#states()
    } catch (err) {
      if (!isGorkflowError(err)) throw err
      this.#deps.log('error', 'schedule_failed', { workflow_id: null, tick: null, code: err.code })
      return 0
    }
    let created = 0
    for (const wf of scheduled) {
      const schedule = wf.schedule as NonNullable<AnyWorkflow['schedule']>
      const state = states.get(wf.id)
      if (state?.paused) continue
      const tick = dueTick(schedule, state?.lastTickAt ?? null, now)
      if (tick === null) continue
      try {
        const started = await this.#deps.start(wf.id, schedule.input, { idempotencyKey: tickKey(wf.id, tick), leased: false })
        if (started.created) created++
        await this.#deps.store.updateScheduleState(wf.id, { lastTickAt: tick }, now)
      } catch (err) {
        if (!isGorkflowError(err)) throw err
        this.#deps.log('error', 'schedule_failed', { workflow_id: wf.id, tick: new Date(tick).toISOString(), code: err.code })
        // An input its workflow refuses fails every tick alike: the tick is spent rather than tried in every sweep.
        if (err.code === 'VALIDATION_ERROR' || err.code === 'PAYLOAD_TOO_LARGE') await this.#deps.store.updateScheduleState(wf.id, { lastTickAt: tick }, now).catch(() => {})
      }
    }
    return created
  }

  /**
   * The first tick after `now` of any schedule not paused as of this engine's last look at the store, or null: what
   * a scheduler arms its timer for, beside {@link WorkflowStore.nextDueAt}.
   */
  nextFireAt(now: number = this.#deps.clock.now()): number | null {
    let next: number | null = null
    for (const wf of this.#deps.workflows()) {
      if (wf.schedule === null || this.#paused.has(wf.id)) continue
      const tick = nextTick(wf.schedule, now)
      if (tick !== null && (next === null || tick < next)) next = tick
    }
    return next
  }

  /** The schedules of the current workflow versions, with their state (one store read; none without schedules). */
  async list(): Promise<ScheduleView[]> {
    const scheduled = this.#deps.workflows().filter((wf) => wf.schedule !== null)
    if (scheduled.length === 0) return []
    const states = await this.#states()
    const now = this.#deps.clock.now()
    return scheduled.map((wf) => scheduleView(wf, states.get(wf.id), now))
  }

  /**
   * Stops a workflow's schedule on every engine (one store write) until {@link resume}; a tick already
   * being fired when it lands still starts its run.
   * @throws WorkflowNotFoundError, ScheduleNotFoundError
   */
  async pause(workflowId: string): Promise<ScheduleView> {
    const wf = this.#scheduled(workflowId)
    const now = this.#deps.clock.now()
    const state = await this.#deps.store.updateScheduleState(workflowId, { paused: true }, now)
    this.#paused.add(workflowId)
    return scheduleView(wf, state, now)
  }

  /**
   * Restarts a paused schedule from the next tick: ticks that passed while it was paused are dropped, whatever
   * the missed-ticks policy. Resuming a running schedule changes nothing but that.
   * @throws WorkflowNotFoundError, ScheduleNotFoundError
   */
  async resume(workflowId: string): Promise<ScheduleView> {
    const wf = this.#scheduled(workflowId)
    const now = this.#deps.clock.now()
    const passed = latestTick(wf.schedule as NonNullable<AnyWorkflow['schedule']>, now)
    const state = await this.#deps.store.updateScheduleState(
      workflowId,
      { paused: false, ...(passed === null ? {} : { lastTickAt: passed }) },
      now,
    )
    this.#paused.delete(workflowId)
    return scheduleView(wf, state, now)
  }

  /** The current version of `workflowId`, which must have a schedule. */
  #scheduled(workflowId: string): AnyWorkflow {
    const wf = this.#deps.getWorkflow(workflowId)
    if (wf.schedule === null) throw new ScheduleNotFoundError(workflowId)
    return wf
  }

  async #states(): Promise<Map<string, ScheduleState>> {
    const states = new Map((await this.#deps.store.listScheduleStates()).map((s) => [s.workflowId, s]))
    this.#paused = new Set([...states.values()].filter((s) => s.paused).map((s) => s.workflowId))
    return states
  }
}

function scheduleView(wf: AnyWorkflow, state: ScheduleState | undefined, now: number): ScheduleView {
  const schedule = wf.schedule as NonNullable<AnyWorkflow['schedule']>
  const paused = state?.paused ?? false
  return {
    workflowId: wf.id,
    cron: schedule.cron,
    timezone: schedule.timezone,
    missed: schedule.missed,
    paused,
    nextFireAt: paused ? null : nextTick(schedule, now),
    lastFiredAt: state?.lastTickAt ?? null,
  }
}
