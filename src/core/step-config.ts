/**
 * @module
 * Execution options of a step and how they merge: engine defaults < workflow config < step options, field
 * by field (docs/decisions.md#configuration-merge). Resolving never mutates a definition, so one step can serve
 * many workflows.
 */
import { InvalidArgumentError } from './errors'
import type { BackoffStrategy } from './model'
import { BACKOFF_STRATEGIES } from './model'

/** The durability modes of {@link StepConfig.durability}. */
export const DURABILITY_MODES = ['step', 'pipelined'] as const

/**
 * When a step boundary must be durable (README "Durability modes"). `'step'`: a step starts only once its input
 * and its own start are stored. `'pipelined'`: its successors start at once and the commits follow behind.
 */
export type Durability = (typeof DURABILITY_MODES)[number]

export interface StepConfig {
  /** Further attempts after the first that failed; interrupted attempts do not count. Minimum `0`. @default 3 */
  readonly maxRetries?: number
  /**
   * Attempts that may be interrupted (the process died, restarted or shut down mid-attempt) before the step fails
   * with ATTEMPT_INTERRUPTED. They do not spend `maxRetries`, and the next attempt starts at once. The bound
   * exists for a step that kills its worker every time; the default survives ten deploys or crashes in a row
   * within one attempt's life, as DBOS's `max_recovery_attempts` (default 100) does in spirit. Minimum `0`.
   * @default 10
   */
  readonly maxInterruptions?: number
  /** Base delay between attempts, in ms. Minimum `0`. @default 1000 */
  readonly retryDelayMs?: number
  /** LINEAR: base × n; EXPONENTIAL: base × 2^(n−1); NONE: no delay. @default 'LINEAR' */
  readonly backoff?: BackoffStrategy
  /** Cap on any single retry delay, in ms; null for no cap. @default null */
  readonly maxDelayMs?: number | null
  /** Randomise each delay within [delay/2, delay] so retries of many runs spread out. @default false */
  readonly jitter?: boolean
  /** Per-attempt limit in ms; the attempt's signal aborts and a late result is ignored. Minimum `1`. @default 30000 */
  readonly timeoutMs?: number
  /** A step that fails for good does not fail the run; its successors receive `null` for it. @default false */
  readonly continueOnError?: boolean
  /**
   * `'step'`: the step starts only once its input (its predecessors' completions) and its own start are durable,
   * and its successors wait for its completion to be durable: one store round trip per step boundary, and after a
   * crash at most the attempt in flight runs again. `'pipelined'`: its successors start as soon as it finishes,
   * while the commit recording it goes out behind them (fenced, in order, one at a time, coalescing whatever
   * finishes meanwhile); the run's last commit still waits for every earlier one. A crash may then run again the
   * steps whose commit had not returned, and a successor may have acted on an output its predecessor produces
   * differently when it runs again: choose it for deterministic or idempotent steps (README "Durability modes").
   * Set it per step, for a workflow (`config`) or for an engine (`defaults`).
   * @default 'step'
   */
  readonly durability?: Durability
}

export type ResolvedStepConfig = Required<StepConfig>

export const DEFAULT_STEP_CONFIG: ResolvedStepConfig = Object.freeze({
  maxRetries: 3,
  maxInterruptions: 10,
  retryDelayMs: 1000,
  backoff: 'LINEAR',
  maxDelayMs: null,
  jitter: false,
  timeoutMs: 30_000,
  continueOnError: false,
  durability: 'step',
})

/** Checks a partial config, throwing InvalidArgumentError naming `owner` and the field. */
export function assertStepConfig(config: StepConfig, owner: string): void {
  const integer = (field: keyof StepConfig, value: unknown, min: number) => {
    if (value !== undefined && (!Number.isSafeInteger(value) || (value as number) < min)) {
      throw new InvalidArgumentError(`${owner}: ${field} must be an integer >= ${min}, got ${String(value)}`)
    }
  }
  integer('maxRetries', config.maxRetries, 0)
  integer('maxInterruptions', config.maxInterruptions, 0)
  integer('retryDelayMs', config.retryDelayMs, 0)
  integer('timeoutMs', config.timeoutMs, 1)
  if (config.maxDelayMs !== null) integer('maxDelayMs', config.maxDelayMs, 0)
  if (config.backoff !== undefined && !BACKOFF_STRATEGIES.includes(config.backoff)) {
    throw new InvalidArgumentError(`${owner}: backoff must be one of ${BACKOFF_STRATEGIES.join(', ')}`)
  }
  if (config.durability !== undefined && !DURABILITY_MODES.includes(config.durability)) {
    throw new InvalidArgumentError(`${owner}: durability must be one of ${DURABILITY_MODES.join(', ')}`)
  }
}

/** Field-wise merge; later layers win only where they set a field. Result is frozen. */
export function resolveStepConfig(...layers: readonly (StepConfig | undefined)[]): ResolvedStepConfig {
  const merged: Record<string, unknown> = { ...DEFAULT_STEP_CONFIG }
  for (const layer of layers) {
    if (!layer) continue
    for (const [key, value] of Object.entries(layer)) if (value !== undefined) merged[key] = value
  }
  return Object.freeze(merged as ResolvedStepConfig)
}

/**
 * Delay before attempt `attempt` (1-based count of retries: the first retry is 1), per docs/decisions.md#backoff,
 * capped by `maxDelayMs` and optionally jittered with `random()` in [0, 1).
 */
export function retryDelay(config: ResolvedStepConfig, attempt: number, random: () => number = Math.random): number {
  if (attempt <= 0) return 0
  let delay: number
  switch (config.backoff) {
    case 'NONE':
      return 0
    case 'EXPONENTIAL':
      // 2^(n-1) overflows to Infinity long before n reaches 1024; the cap below keeps it finite.
      delay = config.retryDelayMs * 2 ** Math.min(attempt - 1, 1000)
      break
    default:
      delay = config.retryDelayMs * attempt
  }
  if (config.maxDelayMs !== null) delay = Math.min(delay, config.maxDelayMs)
  if (!Number.isFinite(delay)) delay = Number.MAX_SAFE_INTEGER
  return config.jitter ? Math.round(delay / 2 + (random() * delay) / 2) : delay
}
