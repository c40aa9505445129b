/**
 * @module
 * The workflow builder and the frozen definition it builds. Each builder method returns a new builder, so a
 * partial builder can be shared. Types flow through the chain: `then(step)` compiles only when the step
 * accepts the previous output; after `parallel([a, b])` the next step receives `{ a: OutA, b: OutB }`.
 */
import type { StandardSchemaV1 } from '@standard-schema/spec'
import { InvalidArgumentError, InvalidWorkflowError } from './errors'
import { graphFingerprint, nodeKind } from './fingerprint'
import { DEFAULT_MAP_CONCURRENCY, MAX_MAP_CONCURRENCY, parseMapItemId } from './map-items'
import { parseSchedule, type Schedule, type ScheduleOptions } from './schedule'
import type { AnyStep, Step, StepContext, StepOutput } from './step'
import { assertStepConfig, type StepConfig } from './step-config'

/** Workflow-wide defaults for its steps, plus run-level limits. */
export interface WorkflowConfig extends StepConfig {
  /** Most steps of one run executing at once. Minimum `1`. @default unbounded */
  readonly maxConcurrency?: number
}

/** Decides whether a conditional step runs; a throw is a step error like any other (retried). */
export type StepCondition<I> = (ctx: StepContext, input: I) => boolean | Promise<boolean>

/** Output of a skipped step: a value, or a function of the step's input. */
export type SkipDefault<I, O> = O | ((input: I, ctx: StepContext) => O | Promise<O>)

/** When a durable sleep ends, computed once when the node starts and then persisted. */
export type SleepUntil = (ctx: StepContext, input: unknown, now: number) => number | Promise<number>

/** How a node waits without holding compute; null for ordinary steps. */
export type NodeWait =
  | { readonly kind: 'sleep'; readonly until: SleepUntil }
  | {
      readonly kind: 'event'
      readonly name: string
      readonly schema: StandardSchemaV1 | null
      /** Null: wait forever. */
      readonly timeoutMs: number | null
    }
  | {
      readonly kind: 'child'
      /** The child workflow's id; it starts on the version registered last (README "Child workflows"). */
      readonly workflowId: string
      /** The child's input from this node's input; null passes the input through. */
      readonly input: ChildInput<unknown, unknown> | null
    }

/** Computes a child run's input from the parent step's input. */
export type ChildInput<I, C> = (ctx: StepContext, input: I) => C | Promise<C>

/** Options of {@link WorkflowBuilder.child}. */
export interface ChildOptions {
  /** The node's id. @default the child workflow's id */
  readonly id?: string
  /** A failed or cancelled child ends this node FAILED (CHILD_FAILED); with this set the run goes on. */
  readonly continueOnError?: boolean
}

/** Options of {@link WorkflowBuilder.map}. */
export interface MapOptions {
  /**
   * Most items in flight at once (started and not yet done, retry backoffs included), across every engine: one run
   * is executed by one lease holder at a time. 1 to {@link MAX_MAP_CONCURRENCY}. @default 10
   */
  readonly concurrency?: number
  /** The node's id; item records are `<id>[<index>]`. @default the item step's id */
  readonly id?: string
  /**
   * A failed item does not fail the map: its entry in the map's output is null (its record keeps the error).
   * @default the item step's own continueOnError
   */
  readonly continueOnError?: boolean
}

/** How a map node runs its items; null for every other node. */
export interface NodeMap {
  readonly concurrency: number
}

/** The element type of an array; for anything else a type no step input accepts but `unknown`. */
export type MapItem<C> = C extends readonly (infer E)[] ? E : { readonly '~map needs an array, got': C }

/** The latest representable wake time (year 9999): what "no deadline" is persisted as. */
export const NEVER = 253_402_300_799_999

/** Workflow version strings: what `version` accepts, and what the API accepts where a version is named. */
export const VERSION_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.+-]{0,63}$/

/**
 * Most steps one workflow (so one run) may have: Cloudflare Workflows' ceiling. Runs this long keep a flat cost per
 * step (README "Long runs"); `build()` refuses more before anything is stored.
 */
export const MAX_STEPS = 25_000

/** Longest durable sleep accepted, in ms (one year and a day). */
export const MAX_SLEEP_MS = 366 * 24 * 60 * 60 * 1000

/** One node of a built workflow. */
export interface WorkflowNode {
  readonly id: string
  readonly name: string
  readonly description: string
  readonly step: AnyStep
  /** Sleep and wait-for-event nodes pass through or receive data without a handler. */
  readonly wait: NodeWait | null
  /** Present for map nodes: `step` runs once per item of the input array (README "Map over an array"). */
  readonly map: NodeMap | null
  /** Present for `thenIf` nodes. */
  readonly condition: StepCondition<unknown> | null
  /** What a skipped node outputs; `passThrough` returns its input unchanged. */
  readonly skip: { readonly kind: 'default'; readonly value: SkipDefault<unknown, unknown> } | { readonly kind: 'passThrough' }
  /** Ids of the nodes whose outputs feed this one, in insertion order. */
  readonly predecessors: readonly string[]
  readonly successors: readonly string[]
}

/** A validated, frozen workflow: what the engine runs and the API describes. */
export interface WorkflowDefinition<I = unknown, O = unknown> {
  readonly id: string
  readonly name: string
  readonly version: string
  /**
   * Hash of the graph's structure (step ids and kinds, event names, edges; not handlers or schemas). A run is
   * pinned to its version and this fingerprint, and continues only where both are registered.
   */
  readonly fingerprint: string
  readonly description: string
  readonly tags: Readonly<Record<string, string>>
  readonly inputSchema: StandardSchemaV1 | null
  readonly config: WorkflowConfig
  /** Per-resource concurrency: at most `limit` runs with the same `resourceId` execute at once. */
  readonly concurrency: { readonly limit: number } | null
  /** Starts a run at each tick of a cron pattern (README "Scheduled starts"); null for none. */
  readonly schedule: Schedule | null
  /** The completion webhook of runs started without their own `callbackUrl`; null for none. */
  readonly webhook: { readonly url: string } | null
  /** Nodes in insertion order; that order breaks ties between ready steps (docs/decisions.md#scheduling-order). */
  readonly steps: readonly WorkflowNode[]
  readonly edges: readonly (readonly [string, string])[]
  /** Steps without predecessors; each receives the run input (docs/decisions.md#step-input). */
  readonly entries: readonly string[]
  /** Steps without successors; their outputs form the run output (docs/decisions.md#run-output). */
  readonly sinks: readonly string[]
  readonly '~types'?: { readonly input: (input: I) => void; readonly output: O }
}

/** Any workflow, whatever its types: what an engine registers. */
export type AnyWorkflow = WorkflowDefinition<any, any>

export interface WorkflowOptions {
  /** Unique among the engine's workflows; used in URLs. */
  readonly id: string
  /** @default the id */
  readonly name?: string
  /**
   * Bump it with every change to the graph: runs continue only on the version they started on
   * (README "Deploying a change safely"). 1-64 of letters, digits, `_ . + -`. @default '1.0'
   */
  readonly version?: string
  readonly description?: string
  readonly tags?: Readonly<Record<string, string>>
  readonly config?: WorkflowConfig
  /**
   * At most `limit` runs of this workflow with the same `resourceId` execute at once, across every engine;
   * the others wait PENDING and start in creation order as slots free. Runs without a resourceId are not
   * limited. Minimum `1`.
   */
  readonly concurrency?: { readonly limit: number }
  /**
   * Starts one run at each tick of a cron pattern, across every engine (README "Scheduled starts").
   * @example { cron: '*\/5 * * * *', timezone: 'Europe/Berlin', input: { report: 'daily' } }
   */
  readonly schedule?: ScheduleOptions
  /**
   * Where to POST each run once it is terminal, when its start names no `callbackUrl` of its own (README,
   * "Completion webhooks"). Checked by the SSRF guard at each start through the API, like a `callbackUrl`.
   */
  readonly webhook?: { readonly url: string }
}

interface Draft {
  readonly options: WorkflowOptions
  readonly schedule: Schedule | null
  readonly inputSchema: StandardSchemaV1 | null
  /** This draft's nodes are the first `length` of `chain`. */
  readonly chain: Chain
  readonly length: number
  /** Ids the next block attaches to. */
  readonly tail: readonly string[]
  /** Every `sleep-<n>` with n below this is taken: ids are only ever added, so the free one never moves back. */
  readonly sleepFrom: number
}

/**
 * Nodes shared by a line of drafts, so appending is amortised O(1) rather than a copy of every node (a 25,000-step
 * chain would cost 300 million copies). A draft appends in place while it is the chain's tip; a draft that
 * branches from an earlier point copies its prefix, as every append used to.
 */
interface Chain {
  readonly nodes: DraftNode[]
  /** Where each id first occurs in `nodes`. */
  readonly firstIndex: Map<string, number>
}

interface DraftNode {
  readonly step: AnyStep
  readonly wait?: NodeWait
  readonly map?: NodeMap
  readonly condition: StepCondition<unknown> | null
  readonly skip: WorkflowNode['skip']
  readonly after: readonly string[]
}

type ParallelOutput<S extends readonly AnyStep[]> = { [P in S[number] as P['id']]: StepOutput<P> }

/** Pass-through on skip only when the unchanged input is a valid output (docs/decisions.md#conditional-steps). */
type SkipArgs<Cur, O> = [Cur] extends [O]
  ? [defaultValue?: SkipDefault<Cur, O>]
  : [defaultValue: SkipDefault<Cur, O>]

/** Builds a workflow whose run input is `In` and whose latest block outputs `Cur`. */
export class WorkflowBuilder<In, Cur> {
  readonly #draft: Draft

  /** @internal use {@link workflow} */
  constructor(draft: Draft) {
    this.#draft = draft
  }

  /** Runs `step` after everything added so far; it receives the previous output (or the keyed join). */
  then<O>(step: Step<Cur, O>): WorkflowBuilder<In, O> {
    return this.#append([{ step, condition: null, skip: { kind: 'passThrough' } }])
  }

  /** Runs several steps at once after everything so far; the next step receives `{ [id]: output }`. */
  parallel<const S extends readonly [Step<Cur, unknown>, ...Step<Cur, unknown>[]]>(
    steps: S,
  ): WorkflowBuilder<In, ParallelOutput<S>> {
    if (!Array.isArray(steps) || steps.length === 0) {
      throw new InvalidArgumentError(`workflow ${this.#draft.options.id}: parallel() needs at least one step`)
    }
    return this.#append(steps.map((step) => ({ step, condition: null, skip: { kind: 'passThrough' } as const })))
  }

  /**
   * Runs `step` only when `condition` holds; otherwise the step is SKIPPED and outputs `defaultValue` (a value
   * or a function of the input), or its unchanged input when no default is given — which compiles only when
   * that input is a valid output.
   */
  thenIf<O>(step: Step<Cur, O>, condition: StepCondition<Cur>, ...rest: SkipArgs<Cur, O>): WorkflowBuilder<In, O> {
    if (typeof condition !== 'function') {
      throw new InvalidArgumentError(`workflow ${this.#draft.options.id}: thenIf(${step.id}) needs a condition function`)
    }
    const skip: WorkflowNode['skip'] =
      rest.length > 0 && rest[0] !== undefined
        ? { kind: 'default', value: rest[0] as SkipDefault<unknown, unknown> }
        : { kind: 'passThrough' }
    return this.#append([{ step, condition: condition as StepCondition<unknown>, skip }])
  }

  /**
   * Waits `ms` — or a number of ms computed from the input — holding no lease and no compute; the run shows
   * `waitingFor: { kind: 'sleep', until }` and the sweeper resumes it when due. Passes its input through.
   * @example .sleep(24 * 60 * 60 * 1000)             // a day
   * @example .sleep((ctx, order) => order.delayMs)
   */
  sleep(
    duration: number | ((ctx: StepContext, input: Cur) => number | Promise<number>),
    options: { readonly id?: string } = {},
  ): WorkflowBuilder<In, Cur> {
    const id = options.id ?? this.#nextSleepId()
    if (typeof duration === 'number') assertSleepMs(this.#draft.options.id, id, duration)
    const until: SleepUntil = async (ctx, input, now) => {
      const ms = typeof duration === 'number' ? duration : await duration(ctx, input as Cur)
      assertSleepMs(this.#draft.options.id, id, ms)
      return now + ms
    }
    return this.#wait(id, { kind: 'sleep', until }, false)
  }

  /** Like {@link sleep}, until an instant (a Date or epoch ms), fixed or computed from the input. */
  sleepUntil(
    at: Date | number | ((ctx: StepContext, input: Cur) => Date | number | Promise<Date | number>),
    options: { readonly id?: string } = {},
  ): WorkflowBuilder<In, Cur> {
    const id = options.id ?? this.#nextSleepId()
    const until: SleepUntil = async (ctx, input) => {
      const value = typeof at === 'function' ? await at(ctx, input as Cur) : at
      const time = value instanceof Date ? value.getTime() : value
      if (!Number.isSafeInteger(time) || time < 0 || time > NEVER) {
        throw new InvalidArgumentError(`sleepUntil ${id}: not a valid instant: ${String(value)}`)
      }
      return time
    }
    return this.#wait(id, { kind: 'sleep', until }, false)
  }

  /**
   * Waits for an event named `name` delivered to the run (`engine.sendEvent` / `POST …/events/:name`); its
   * output is the event's payload, validated by `schema`. An event sent before the run gets here is kept and
   * consumed on arrival. After `timeoutMs` the node fails with TIMEOUT (continue-on-error applies).
   */
  waitForEvent<S extends StandardSchemaV1>(
    name: string,
    options: { readonly schema: S; readonly timeoutMs?: number; readonly id?: string; readonly continueOnError?: boolean },
  ): WorkflowBuilder<In, StandardSchemaV1.InferOutput<S>> {
    if (typeof name !== 'string' || !/^[A-Za-z0-9_.:-]{1,100}$/.test(name)) {
      throw new InvalidArgumentError(`workflow ${this.#draft.options.id}: event name must be 1-100 of [A-Za-z0-9_.:-]`)
    }
    const timeoutMs = options.timeoutMs ?? null
    if (timeoutMs !== null && (!Number.isSafeInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > MAX_SLEEP_MS)) {
      throw new InvalidArgumentError(`waitForEvent ${name}: timeoutMs must be an integer in 1..${MAX_SLEEP_MS}`)
    }
    return this.#wait(options.id ?? name, { kind: 'event', name, schema: options.schema ?? null, timeoutMs }, options.continueOnError ?? false)
  }

  /**
   * Starts a run of another registered workflow and waits for it durably, holding no lease and no compute: the
   * parent yields (`waitingFor: { kind: 'child' }`) and is woken when the child ends. Outputs the child's output;
   * a failed or cancelled child fails this node with CHILD_FAILED (continue-on-error applies). Without `input`,
   * the previous output is the child's input, which compiles only when the child accepts it.
   * @example .child(shipping)                                       // the previous output is shipping's input
   * @example .child(shipping, { input: (ctx, order) => order.address })
   */
  child<CI, CO>(
    wf: WorkflowDefinition<CI, CO>,
    options: ChildOptions & { readonly input: ChildInput<Cur, NoInfer<CI>> },
  ): WorkflowBuilder<In, CO>
  child<CO>(wf: WorkflowDefinition<Cur, CO>, options?: ChildOptions): WorkflowBuilder<In, CO>
  child(wf: AnyWorkflow, options: ChildOptions & { readonly input?: ChildInput<Cur, unknown> } = {}): WorkflowBuilder<In, unknown> {
    if (typeof wf?.id !== 'string' || !Array.isArray(wf.steps)) {
      throw new InvalidArgumentError(`workflow ${this.#draft.options.id}: child() needs a built workflow definition`)
    }
    if (options.input !== undefined && typeof options.input !== 'function') {
      throw new InvalidArgumentError(`workflow ${this.#draft.options.id}: child(${wf.id}) input must be a function`)
    }
    const input = (options.input ?? null) as ChildInput<unknown, unknown> | null
    return this.#wait(options.id ?? wf.id, { kind: 'child', workflowId: wf.id, input }, options.continueOnError ?? false)
  }

  /**
   * Runs `step` once per item of the previous output, an array produced at run time, at most `concurrency` items
   * at once; outputs the items' outputs in item order. Each item has its own durable record (`<id>[<index>]`) and
   * its own retries with the step's options; a failed item fails the map unless continue-on-error is set, when its
   * entry is null. Compiles only when the previous output is an array whose elements the step accepts. Arrays
   * over MAX_MAP_ITEMS (25,000) fail the map with MAP_TOO_LARGE (README "Map over an array").
   * @example .then(listImages).map(resize, { concurrency: 50 }).then(publish)
   */
  map<O>(
    step: Step<MapItem<Cur>, O>,
    options: MapOptions & { readonly continueOnError: true },
  ): WorkflowBuilder<In, (O | null)[]>
  map<O>(step: Step<MapItem<Cur>, O>, options?: MapOptions): WorkflowBuilder<In, O[]>
  map(step: AnyStep, options: MapOptions = {}): WorkflowBuilder<In, unknown> {
    const owner = `workflow ${this.#draft.options.id}`
    if (typeof step?.id !== 'string' || typeof step.handler !== 'function') {
      throw new InvalidArgumentError(`${owner}: map() needs a step`)
    }
    const concurrency = options.concurrency ?? DEFAULT_MAP_CONCURRENCY
    if (!Number.isSafeInteger(concurrency) || concurrency < 1 || concurrency > MAX_MAP_CONCURRENCY) {
      throw new InvalidArgumentError(`${owner}: map(${step.id}) concurrency must be an integer in 1..${MAX_MAP_CONCURRENCY}`)
    }
    const id = options.id ?? step.id
    if (typeof id !== 'string' || id.length === 0 || id.length > 200) {
      throw new InvalidArgumentError(`${owner}: map id must be a non-empty string of at most 200 characters`)
    }
    // The node carries the item step under the node's id, with the map's continue-on-error when it names one.
    const config = options.continueOnError === undefined ? step.config : { ...step.config, continueOnError: options.continueOnError }
    const node: AnyStep = Object.freeze({ ...step, id, config: Object.freeze(config) })
    return this.#append([{ step: node, map: Object.freeze({ concurrency }), condition: null, skip: { kind: 'passThrough' } }])
  }

  /** `then` for each step in order. */
  sequence<A>(a: Step<Cur, A>): WorkflowBuilder<In, A>
  sequence<A, B>(a: Step<Cur, A>, b: Step<A, B>): WorkflowBuilder<In, B>
  sequence<A, B, C>(a: Step<Cur, A>, b: Step<A, B>, c: Step<B, C>): WorkflowBuilder<In, C>
  sequence<A, B, C, D>(a: Step<Cur, A>, b: Step<A, B>, c: Step<B, C>, d: Step<C, D>): WorkflowBuilder<In, D>
  sequence(...steps: AnyStep[]): WorkflowBuilder<In, unknown> {
    let builder: WorkflowBuilder<In, unknown> = this as WorkflowBuilder<In, unknown>
    for (const step of steps) builder = builder.then(step as Step<unknown, unknown>)
    return builder
  }

  /**
   * Validates and freezes the workflow.
   * @throws InvalidWorkflowError for no steps, duplicate ids, cycles or unreachable steps, naming them.
   */
  build(): WorkflowDefinition<In, Cur> {
    const { options, inputSchema } = this.#draft
    const nodes = this.#draft.chain.nodes.slice(0, this.#draft.length)
    const ids = nodes.map((n) => n.step.id)
    const edges = nodes.flatMap((n) => n.after.map((from) => [from, n.step.id] as const))
    const firstBlock = nodes.filter((n) => n.after.length === 0).map((n) => n.step.id)
    const graph = validateGraph(options.id, ids, edges, firstBlock)
    assertNoItemIds(options.id, ids, new Set(nodes.filter((n) => n.map).map((n) => n.step.id)))
    const steps = nodes.map(
      (n): WorkflowNode =>
        Object.freeze({
          id: n.step.id,
          name: n.step.name,
          description: n.step.description,
          step: n.step,
          wait: n.wait ?? null,
          map: n.map ?? null,
          condition: n.condition,
          skip: n.skip,
          predecessors: Object.freeze(graph.predecessors.get(n.step.id) ?? []),
          successors: Object.freeze(graph.successors.get(n.step.id) ?? []),
        }),
    )
    const fingerprint = graphFingerprint(
      steps.map((n) => ({
        id: n.id,
        kind: nodeKind(n),
        event: n.wait?.kind === 'event' ? n.wait.name : n.wait?.kind === 'child' ? n.wait.workflowId : null,
      })),
      edges,
    )
    return Object.freeze({
      id: options.id,
      name: options.name ?? options.id,
      version: options.version ?? '1.0',
      fingerprint,
      description: options.description ?? '',
      tags: Object.freeze({ ...options.tags }),
      inputSchema,
      config: Object.freeze({ ...options.config }),
      concurrency: options.concurrency ? Object.freeze({ limit: options.concurrency.limit }) : null,
      schedule: this.#draft.schedule,
      webhook: options.webhook ? Object.freeze({ url: options.webhook.url }) : null,
      steps: Object.freeze(steps),
      edges: Object.freeze(edges.map((e) => Object.freeze(e))),
      entries: Object.freeze(graph.entries),
      sinks: Object.freeze(graph.sinks),
    })
  }

  #wait<Next>(id: string, wait: NodeWait, continueOnError: boolean): WorkflowBuilder<In, Next> {
    // Waits have no handler and are never retried: their only failures are an event timeout and a failed child.
    const step: AnyStep = Object.freeze({
      id,
      name: id,
      description:
        wait.kind === 'sleep' ? 'durable sleep' : wait.kind === 'event' ? `wait for event ${wait.name}` : `child workflow ${wait.workflowId}`,
      inputSchema: null,
      outputSchema: null,
      config: Object.freeze({ maxRetries: 0, continueOnError }),
      handler: () => undefined,
    })
    return this.#append([{ step, wait, condition: null, skip: { kind: 'passThrough' } }])
  }

  #nextSleepId(): string {
    const { chain, length } = this.#draft
    let n = this.#draft.sleepFrom
    while ((chain.firstIndex.get(`sleep-${n}`) ?? length) < length) n++
    return `sleep-${n}`
  }

  #append<Next>(added: readonly Omit<DraftNode, 'after'>[]): WorkflowBuilder<In, Next> {
    const draft = this.#draft
    let chain = draft.chain
    if (chain.nodes.length !== draft.length) {
      const nodes = chain.nodes.slice(0, draft.length)
      chain = { nodes, firstIndex: new Map() }
      nodes.forEach((node, i) => addFirstIndex(chain, node.step.id, i))
    }
    let sleepFrom = draft.sleepFrom
    for (const node of added) {
      addFirstIndex(chain, node.step.id, chain.nodes.length)
      chain.nodes.push({ ...node, after: draft.tail })
      if (node.step.id === `sleep-${sleepFrom}`) sleepFrom++
    }
    return new WorkflowBuilder<In, Next>({ ...draft, chain, length: chain.nodes.length, tail: added.map((n) => n.step.id), sleepFrom })
  }
}

/**
 * Starts a workflow definition. With an `input` Standard Schema the run input is validated at start and its
 * type flows into the first step.
 * @example
 * const flow = workflow({ id: 'order', input: z.object({ id: z.string() }) }).then(charge).then(ship).build()
 */
export function workflow<S extends StandardSchemaV1>(
  options: WorkflowOptions & { readonly input: S },
): WorkflowBuilder<StandardSchemaV1.InferInput<S>, StandardSchemaV1.InferOutput<S>>
export function workflow<I = unknown>(options: WorkflowOptions & { readonly input?: undefined }): WorkflowBuilder<I, I>
export function workflow(options: WorkflowOptions & { readonly input?: StandardSchemaV1 }): WorkflowBuilder<unknown, unknown> {
  if (typeof options?.id !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/.test(options.id)) {
    throw new InvalidArgumentError('workflow id must be 1-100 characters of letters, digits, "_", "." or "-"')
  }
  if (options.version !== undefined && (typeof options.version !== 'string' || !VERSION_PATTERN.test(options.version))) {
    throw new InvalidArgumentError(`workflow ${options.id}: version must be 1-64 of letters, digits, "_", ".", "+" or "-"`)
  }
  const { input, ...rest } = options
  const limit = rest.concurrency?.limit
  if (rest.concurrency !== undefined && (!Number.isSafeInteger(limit) || (limit as number) < 1)) {
    throw new InvalidArgumentError(`workflow ${rest.id}: concurrency.limit must be an integer >= 1`)
  }
  if (rest.config) {
    assertStepConfig(rest.config, `workflow ${rest.id}`)
    const limit = rest.config.maxConcurrency
    if (limit !== undefined && (!Number.isSafeInteger(limit) || limit < 1)) {
      throw new InvalidArgumentError(`workflow ${rest.id}: maxConcurrency must be an integer >= 1`)
    }
  }
  const schedule = rest.schedule === undefined ? null : parseSchedule(rest.id, rest.schedule)
  return new WorkflowBuilder({
    options: rest,
    schedule,
    inputSchema: input ?? null,
    chain: { nodes: [], firstIndex: new Map() },
    length: 0,
    tail: [],
    sleepFrom: 1,
  })
}

/** A step id of the item form of a map in the same workflow would share that item's record. */
function assertNoItemIds(workflowId: string, ids: readonly string[], mapIds: ReadonlySet<string>): void {
  if (mapIds.size === 0) return
  const clashing = ids.filter((id) => {
    const item = parseMapItemId(id)
    return item !== null && mapIds.has(item.mapId)
  })
  if (clashing.length > 0) {
    throw new InvalidWorkflowError(`workflow ${workflowId}: step ids ${clashing.join(', ')} have the form of map items' ids`)
  }
}

function addFirstIndex(chain: Chain, id: string, index: number): void {
  if (!chain.firstIndex.has(id)) chain.firstIndex.set(id, index)
}

function assertSleepMs(workflowId: string, id: string, ms: unknown): void {
  if (typeof ms !== 'number' || !Number.isSafeInteger(ms) || ms < 0 || ms > MAX_SLEEP_MS) {
    throw new InvalidArgumentError(`workflow ${workflowId}: sleep ${id} needs an integer number of ms in 0..${MAX_SLEEP_MS}`)
  }
}

interface Graph {
  readonly predecessors: Map<string, string[]>
  readonly successors: Map<string, string[]>
  readonly entries: string[]
  readonly sinks: string[]
}

/**
 * Checks a step graph: not empty, at most {@link MAX_STEPS} steps, unique ids, known edge ends, no cycles, every
 * step reachable from the declared entries (by default every step without predecessors, which a leading parallel
 * block produces).
 * Exported for definitions assembled outside the builder.
 * @throws InvalidWorkflowError naming the offending steps
 */
export function validateGraph(
  workflowId: string,
  ids: readonly string[],
  edges: readonly (readonly [string, string])[],
  declaredEntries?: readonly string[],
): Graph {
  const fail = (message: string): never => {
    throw new InvalidWorkflowError(`workflow ${workflowId}: ${message}`)
  }
  if (ids.length === 0) fail('has no steps')
  if (ids.length > MAX_STEPS) fail(`has ${ids.length} steps; at most ${MAX_STEPS} are allowed`)
  const seen = new Set<string>()
  const duplicates = new Set<string>()
  for (const id of ids) (seen.has(id) ? duplicates : seen).add(id)
  if (duplicates.size > 0) fail(`duplicate step ids: ${[...duplicates].join(', ')}`)

  const predecessors = new Map(ids.map((id) => [id, [] as string[]]))
  const successors = new Map(ids.map((id) => [id, [] as string[]]))
  // A set of edges rather than `includes` on the lists: a join after a 25,000-wide parallel block has 25,000.
  const known = new Set<string>()
  for (const [from, to] of edges) {
    const out = successors.get(from)
    const into = predecessors.get(to)
    if (!out || !into) return fail(`edge ${from} -> ${to} names an unknown step`)
    const key = JSON.stringify([from, to])
    if (known.has(key)) continue
    known.add(key)
    out.push(to)
    into.push(from)
  }

  // Depth-first search with colours, on an explicit stack (a 25,000-step chain is deeper than the call stack);
  // the grey path, which is the stack, is reported when a back edge closes a cycle.
  const colour = new Map<string, 'grey' | 'black'>()
  const path: string[] = []
  const next: number[] = []
  for (const root of ids) {
    if (colour.has(root)) continue
    colour.set(root, 'grey')
    path.push(root)
    next.push(0)
    while (path.length > 0) {
      const top = path.length - 1
      const id = path[top] as string
      const out = successors.get(id) as string[]
      const i = next[top] as number
      if (i === out.length) {
        colour.set(id, 'black')
        path.pop()
        next.pop()
        continue
      }
      next[top] = i + 1
      const child = out[i] as string
      const c = colour.get(child)
      if (c === 'grey') fail(`cycle: ${[...path.slice(path.indexOf(child)), child].join(' -> ')}`)
      if (c === undefined) {
        colour.set(child, 'grey')
        path.push(child)
        next.push(0)
      }
    }
  }

  const entries = declaredEntries ? [...declaredEntries] : ids.filter((id) => predecessors.get(id)?.length === 0)
  for (const id of entries) if (!seen.has(id)) fail(`entry ${id} is not a step`)
  const reached = new Set<string>()
  const stack = [...entries]
  while (stack.length > 0) {
    const id = stack.pop() as string
    if (reached.has(id)) continue
    reached.add(id)
    for (const child of successors.get(id) ?? []) stack.push(child)
  }
  const unreachable = ids.filter((id) => !reached.has(id))
  if (unreachable.length > 0) fail(`steps unreachable from an entry step: ${unreachable.join(', ')}`)

  const sinks = ids.filter((id) => successors.get(id)?.length === 0)
  return { predecessors, successors, entries, sinks }
}
