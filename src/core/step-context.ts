/**
 * @module
 * What a step handler receives: the context of one attempt, the run's state accessor, the step logger.
 */
import { isGorkflowError } from './errors'
import { toJsonWithin } from './limits'
import { isLevelEnabled, type LogFields, type Logger } from './logger'
import type { Json } from './model'
import type { RunState, StepContext, StepDeps, StepLogger } from './step'
import type { WorkflowStore } from './store'

/** What all attempts of one run share; built once per execution. */
export interface RunScope {
  readonly runId: string
  readonly workflowId: string
  readonly store: WorkflowStore
  readonly logger: Logger
  readonly state: RunState
  readonly deps: StepDeps
  readonly context: Json
  /** The output of a step this execution has seen finish, else undefined (then the store is asked). */
  knownOutput(stepId: string): Json | undefined
  /** The input of a step this execution knows the record of, else undefined (then the store is asked). */
  knownInput(stepId: string): Json | undefined
}

/**
 * One attempt's {@link StepContext}. A class, with the signal and logger made on first use and the methods on
 * the prototype: an object literal of closures and getters per attempt was a quarter of a trivial run's CPU in
 * garbage collection (bench/PROFILE.md).
 */
export class AttemptContext implements StepContext {
  readonly #scope: RunScope
  readonly #abort: LazyAbort
  readonly stepId: string
  readonly attempt: number

  constructor(scope: RunScope, stepId: string, attempt: number, abort: LazyAbort) {
    this.#scope = scope
    this.#abort = abort
    this.stepId = stepId
    this.attempt = attempt
  }

  get runId(): string {
    return this.#scope.runId
  }

  get workflowId(): string {
    return this.#scope.workflowId
  }

  get signal(): AbortSignal {
    return this.#abort.signal
  }

  get logger(): StepLogger {
    return stepLogger(this.#scope.logger, { run_id: this.#scope.runId, step_id: this.stepId, attempt: this.attempt })
  }

  get state(): RunState {
    return this.#scope.state
  }

  get deps(): StepDeps {
    return this.#scope.deps
  }

  get context(): Json {
    return this.#scope.context
  }

  async getOutput<T = Json>(stepId: string): Promise<T> {
    const known = this.#scope.knownOutput(stepId)
    if (known !== undefined) return structuredClone(known) as T
    return (await this.#scope.store.loadStepOutput(this.#scope.runId, stepId)) as T
  }

  async getInput<T = Json>(stepId: string): Promise<T> {
    const known = this.#scope.knownInput(stepId)
    if (known !== undefined) return structuredClone(known) as T
    return (await this.#scope.store.getStepExecution(this.#scope.runId, stepId)).input as T
  }
}

/**
 * An AbortController made only when a handler reads `ctx.signal`. Node's AbortController costs more than
 * the rest of a trivial step (9 % of W1 in a CPU profile), and most handlers never look at the signal.
 */
export class LazyAbort {
  #controller: AbortController | null = null
  #reason: unknown = undefined
  #aborted = false

  get signal(): AbortSignal {
    if (!this.#controller) {
      this.#controller = new AbortController()
      if (this.#aborted) this.#controller.abort(this.#reason)
    }
    return this.#controller.signal
  }

  abort(reason: unknown): void {
    if (this.#aborted) return
    this.#controller?.abort(reason)
    this.#aborted = true
    this.#reason = reason
  }
}

/**
 * State shared by all steps of one run within one invocation. Writes reach the store before the cache, so a
 * failed write never serves the new value (docs/decisions.md#state-is-persisted-before-it-is-cached); reads
 * after the first are served from the cache.
 */
export class RunStateAccessor implements RunState {
  readonly #store: WorkflowStore
  readonly #runId: string
  readonly #now: () => number
  readonly #maxValueBytes: number
  readonly #cache = new Map<string, Json | undefined>()

  /** `maxValueBytes`: EngineOptions.limits' stateValueBytes; a larger value is refused before any write. */
  constructor(store: WorkflowStore, runId: string, now: () => number, maxValueBytes: number) {
    this.#store = store
    this.#runId = runId
    this.#now = now
    this.#maxValueBytes = maxValueBytes
  }

  async get<T extends Json = Json>(key: string): Promise<T | undefined> {
    if (this.#cache.has(key)) return structuredClone(this.#cache.get(key)) as T | undefined
    let value: Json | undefined
    try {
      value = await this.#store.loadState(this.#runId, key)
    } catch (err) {
      if (!isGorkflowError(err, 'STATE_NOT_FOUND')) throw err
      value = undefined
    }
    this.#cache.set(key, value)
    return structuredClone(value) as T | undefined
  }

  async set(key: string, value: Json): Promise<void> {
    const json = toJsonWithin(value ?? null, this.#maxValueBytes, 'stateValueBytes', `state value ${JSON.stringify(key)}`)
    await this.#store.saveState(this.#runId, key, json, this.#now())
    this.#cache.set(key, json)
  }

  async delete(key: string): Promise<void> {
    await this.#store.deleteState(this.#runId, key)
    this.#cache.set(key, undefined)
  }

  async has(key: string): Promise<boolean> {
    return (await this.get(key)) !== undefined
  }

  async getAll(): Promise<Record<string, Json>> {
    const all = await this.#store.getAllState(this.#runId)
    this.#cache.clear()
    for (const [key, value] of Object.entries(all)) this.#cache.set(key, value)
    return all
  }
}

/** A step logger that stamps run, step and the real attempt (docs/decisions.md#log-events) on every line. */
export function stepLogger(logger: Logger, base: LogFields): StepLogger {
  const emit = (level: 'debug' | 'info' | 'warn' | 'error') => (message: string, fields?: LogFields) => {
    if (isLevelEnabled(logger, level)) logger.log(level, 'step_log', { ...base, message, ...fields })
  }
  return { debug: emit('debug'), info: emit('info'), warn: emit('warn'), error: emit('error') }
}
