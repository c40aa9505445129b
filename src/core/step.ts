/**
 * @module
 * Typed steps: an id, schemas, a handler and execution options. A step definition is frozen and never
 * changed by the workflows that use it (docs/decisions.md#configuration-merge).
 */
import type { StandardSchemaV1 } from '@standard-schema/spec'
import { InvalidArgumentError } from './errors'
import type { LogFields } from './logger'
import type { Json } from './model'
import { assertStepConfig, type StepConfig } from './step-config'

/**
 * Per-environment dependencies handed to the engine (`new Engine({ deps })`): clients, secrets, Worker
 * bindings. Never persisted. Augment this interface to type `ctx.deps`:
 * @example
 * declare module 'gorkflow' { interface StepDeps { db: D1Database } }
 */
export interface StepDeps {}

/**
 * Per-run key/value state shared by every step of the run; persisted before it is cached
 * (docs/decisions.md#state-is-persisted-before-it-is-cached).
 */
export interface RunState {
  get<T extends Json = Json>(key: string): Promise<T | undefined>
  set(key: string, value: Json): Promise<void>
  delete(key: string): Promise<void>
  has(key: string): Promise<boolean>
  getAll(): Promise<Record<string, Json>>
}

/** A logger bound to the run, step and attempt; fields must not contain payloads or secrets. */
export interface StepLogger {
  debug(message: string, fields?: LogFields): void
  info(message: string, fields?: LogFields): void
  warn(message: string, fields?: LogFields): void
  error(message: string, fields?: LogFields): void
}

/** What a handler receives besides its input. `runId`/`stepId`/`attempt` make idempotency keys. */
export interface StepContext {
  readonly runId: string
  readonly workflowId: string
  readonly stepId: string
  /** 0-based: the first attempt is 0. */
  readonly attempt: number
  /** Aborts on timeout, cancellation, or a sibling's fatal failure. Pass it to fetch() and friends. */
  readonly signal: AbortSignal
  readonly logger: StepLogger
  readonly state: RunState
  readonly deps: StepDeps
  /** Persisted run metadata given at start (`context`), never `deps`. */
  readonly context: Json
  /** Output of any COMPLETED or SKIPPED step of this run. @throws StepOutputNotFoundError */
  getOutput<T = Json>(stepId: string): Promise<T>
  /** Input any started step of this run received. @throws StepExecutionNotFoundError */
  getInput<T = Json>(stepId: string): Promise<T>
}

type Awaitable<T> = T | Promise<T>

/**
 * A step that accepts `I` and produces `O`. The phantom `~types` makes a step contravariant in its input and
 * covariant in its output, so `then(step)` compiles exactly when the previous output is acceptable.
 */
export interface Step<I, O, Id extends string = string> {
  readonly id: Id
  readonly name: string
  readonly description: string
  readonly inputSchema: StandardSchemaV1 | null
  readonly outputSchema: StandardSchemaV1 | null
  readonly config: StepConfig
  readonly handler: (ctx: StepContext, input: never) => unknown
  readonly '~types'?: { readonly accepts: (input: I) => void; readonly output: O }
}

/** Any step, whatever its types. */
export type AnyStep = Step<any, any, string>

/** The output type of a step. */
export type StepOutput<S> = S extends { readonly '~types'?: { readonly output: infer O } } ? O : never

interface StepMeta<Id extends string> extends StepConfig {
  /** Unique within a workflow; names the step in records, logs and the API. */
  readonly id: Id
  /** @default the id */
  readonly name?: string
  readonly description?: string
}

/**
 * Defines a step. With `input`/`output` Standard Schemas (zod 4, valibot, arktype) the types are inferred
 * from them and values are validated before and after the handler; a validation failure is not retried.
 * @example
 * const add = defineStep({
 *   id: 'add', input: z.object({ a: z.number(), b: z.number() }), output: z.object({ sum: z.number() }),
 *   handler: (ctx, { a, b }) => ({ sum: a + b }),
 * })
 */
export function defineStep<const Id extends string, IS extends StandardSchemaV1, OS extends StandardSchemaV1>(
  spec: StepMeta<Id> & {
    readonly input: IS
    readonly output: OS
    readonly handler: (
      ctx: StepContext,
      input: StandardSchemaV1.InferOutput<IS>,
    ) => Awaitable<StandardSchemaV1.InferInput<OS>>
  },
): Step<StandardSchemaV1.InferInput<IS>, StandardSchemaV1.InferOutput<OS>, Id>
export function defineStep<const Id extends string, IS extends StandardSchemaV1, O>(
  spec: StepMeta<Id> & {
    readonly input: IS
    readonly output?: undefined
    readonly handler: (ctx: StepContext, input: StandardSchemaV1.InferOutput<IS>) => O
  },
): Step<StandardSchemaV1.InferInput<IS>, Awaited<O>, Id>
export function defineStep<const Id extends string, I, O>(
  spec: StepMeta<Id> & {
    readonly input?: undefined
    readonly output?: undefined
    readonly handler: (ctx: StepContext, input: I) => O
  },
): Step<I, Awaited<O>, Id>
export function defineStep(
  spec: StepMeta<string> & {
    readonly input?: StandardSchemaV1
    readonly output?: StandardSchemaV1
    readonly handler: (ctx: StepContext, input: never) => unknown
  },
): AnyStep {
  if (typeof spec.id !== 'string' || spec.id.length === 0 || spec.id.length > 200) {
    throw new InvalidArgumentError('step id must be a non-empty string of at most 200 characters')
  }
  if (typeof spec.handler !== 'function') throw new InvalidArgumentError(`step ${spec.id}: handler must be a function`)
  const { id, name, description, input, output, handler, ...config } = spec
  assertStepConfig(config, `step ${id}`)
  return Object.freeze({
    id,
    name: name ?? id,
    description: description ?? '',
    inputSchema: input ?? null,
    outputSchema: output ?? null,
    config: Object.freeze(config),
    handler,
  })
}
