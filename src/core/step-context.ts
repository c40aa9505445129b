/**
 * @module
 * The per-run state accessor and per-attempt logger handed to step handlers.
 */
import { isGorkflowError } from './errors'
import { isLevelEnabled, type LogFields, type Logger } from './logger'
import type { Json } from './model'
import type { RunState, StepLogger } from './step'
import type { WorkflowStore } from '../store/store'

/**
 * State shared by all steps of one run within one invocation. Writes reach the store before the cache
 * (B16), so a failed write never serves the new value; reads after the first are served from the cache.
 */
export class RunStateAccessor implements RunState {
  readonly #store: WorkflowStore
  readonly #runId: string
  readonly #now: () => number
  readonly #cache = new Map<string, Json | undefined>()

  constructor(store: WorkflowStore, runId: string, now: () => number) {
    this.#store = store
    this.#runId = runId
    this.#now = now
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
    const json = JSON.parse(JSON.stringify(value ?? null)) as Json
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

/** A step logger that stamps run, step and the real attempt (B29) on every line. */
export function stepLogger(logger: Logger, base: LogFields): StepLogger {
  const emit = (level: 'debug' | 'info' | 'warn' | 'error') => (message: string, fields?: LogFields) => {
    if (isLevelEnabled(logger, level)) logger.log(level, 'step_log', { ...base, message, ...fields })
  }
  return { debug: emit('debug'), info: emit('info'), warn: emit('warn'), error: emit('error') }
}
