/**
 * @module
 * One attempt of a step, raced against the step's timeout: validate the input, evaluate the condition, run the
 * handler, validate the output. Also the look at a wait whose time came (a sleep that ended, an event wait).
 * Each resolves to an {@link Outcome}, never rejects; what the outcome means for the run is the execution's call.
 */
import { CHILD_RECHECK_MS, childRunId } from './child-run'
import type { Clock } from './clock'
import { GorkflowError, isGorkflowError, toError } from './errors'
import { toJsonWithin } from './limits'
import type { Json, RunRecord, StepExecution } from './model'
import { validate } from './schema'
import type { StepContext } from './step'
import type { LazyAbort } from './step-context'
import type { WorkflowStore } from './store'
import { NEVER, type WorkflowNode } from './workflow'

/** How an attempt (or a wait's look) ended: a value, an error, or a deadline to look again at. */
export type Outcome =
  | { readonly kind: 'done'; readonly output: Json; readonly skipped: boolean }
  | { readonly kind: 'failed'; readonly error: Error }
  | { readonly kind: 'wait'; readonly until: number }

/** What an attempt needs from its run's execution. */
export interface AttemptScope {
  readonly runId: string
  readonly store: WorkflowStore
  readonly clock: Clock
  /**
   * Starts the child run of node `nodeId` (README "Child workflows") or, when it exists already (a resumed parent),
   * returns it: never a second child.
   */
  readonly startChild: (nodeId: string, workflowId: string, input: Json) => Promise<RunRecord>
  /** EngineOptions.limits' stepOutputBytes: a larger output fails the attempt with PAYLOAD_TOO_LARGE. */
  readonly stepOutputBytes: number
}

/**
 * Runs one attempt of `node` on `record.input`. The timeout, a timer on the clock, aborts `abort` (the handler's
 * `ctx.signal`) with a TIMEOUT error and settles the attempt at once; a handler that ignores the signal is left
 * behind.
 */
export async function runAttempt(
  scope: AttemptScope,
  node: WorkflowNode,
  timeoutMs: number,
  record: StepExecution,
  ctx: StepContext,
  abort: LazyAbort,
): Promise<Outcome> {
  const input = record.input
  let cancelTimeout: (() => void) | undefined
  const timedOut = new Promise<Outcome>((resolve) => {
    cancelTimeout = scope.clock.timer(timeoutMs, () => {
      const error = new GorkflowError('TIMEOUT', `step ${node.id} timed out after ${timeoutMs} ms`)
      abort.abort(error)
      resolve({ kind: 'failed', error })
    })
  })
  const work = (async (): Promise<Outcome> => {
    const wait = node.wait
    if (wait?.kind === 'sleep') return { kind: 'wait', until: await wait.until(ctx, input, record.startedAt ?? scope.clock.now()) }
    if (wait?.kind === 'child') {
      const childInput = wait.input ? await wait.input(ctx, input) : input
      return childOutcome(scope, node, await scope.startChild(node.id, wait.workflowId, toJson(childInput)))
    }
    if (wait?.kind === 'event') {
      const deadline = wait.timeoutMs === null ? NEVER : (record.startedAt ?? scope.clock.now()) + wait.timeoutMs
      return eventOutcome(scope, node, deadline)
    }
    const value = node.step.inputSchema ? await validate(node.step.inputSchema, input, `input of step ${node.id}`) : input
    if (node.condition && !(await node.condition(ctx, value))) {
      const skip = node.skip
      const output =
        skip.kind === 'passThrough'
          ? input
          : typeof skip.value === 'function'
            ? await (skip.value as (i: unknown, c: StepContext) => unknown)(value, ctx)
            : skip.value
      return { kind: 'done', output: outputWithin(scope, node, output), skipped: true }
    }
    const result = await (node.step.handler as (c: StepContext, i: unknown) => unknown)(ctx, value)
    const output = node.step.outputSchema ? await validate(node.step.outputSchema, result, `output of step ${node.id}`) : result
    return { kind: 'done', output: outputWithin(scope, node, output), skipped: false }
  })().catch((err: unknown): Outcome => ({ kind: 'failed', error: toError(err) }))
  try {
    return await Promise.race([work, timedOut])
  } finally {
    cancelTimeout?.()
  }
}

/**
 * A sleep that ended passes its input on; an event wait takes the event, times out, or waits on; a child wait takes
 * the child's outcome or waits on.
 */
export async function checkWait(scope: AttemptScope, node: WorkflowNode, record: StepExecution): Promise<Outcome> {
  if (node.wait?.kind === 'child') {
    return scope.store
      .getRun(childRunId(scope.runId, node.id))
      .then((child) => childOutcome(scope, node, child))
      .catch((err: unknown): Outcome => ({ kind: 'failed', error: toError(err) }))
  }
  if (node.wait?.kind !== 'event') return { kind: 'done', output: record.input, skipped: false }
  return eventOutcome(scope, node, record.wakeAt ?? NEVER).catch((err: unknown): Outcome => ({ kind: 'failed', error: toError(err) }))
}

async function eventOutcome(scope: AttemptScope, node: WorkflowNode, deadline: number): Promise<Outcome> {
  const wait = node.wait
  if (wait?.kind !== 'event') throw new GorkflowError('INTERNAL_ERROR', `step ${node.id} is not an event wait`)
  try {
    const event = await scope.store.loadEvent(scope.runId, wait.name)
    const payload = wait.schema ? await validate(wait.schema, event.payload, `payload of event ${wait.name}`) : event.payload
    return { kind: 'done', output: toJson(payload), skipped: false }
  } catch (err) {
    if (!isGorkflowError(err, 'EVENT_NOT_FOUND')) throw err
  }
  if (scope.clock.now() >= deadline) {
    return { kind: 'failed', error: new GorkflowError('TIMEOUT', `no event ${JSON.stringify(wait.name)} arrived before the timeout`) }
  }
  return { kind: 'wait', until: deadline }
}

/** A finished child's output or failure; a child still going is looked at again after {@link CHILD_RECHECK_MS}. */
function childOutcome(scope: AttemptScope, node: WorkflowNode, child: RunRecord): Outcome {
  if (child.status === 'COMPLETED') return { kind: 'done', output: child.output, skipped: false }
  if (child.status === 'FAILED' || child.status === 'CANCELLED') {
    const why = child.error ? `${child.error.code}: ${child.error.message}` : child.status
    const details = { childRunId: child.runId, status: child.status }
    return { kind: 'failed', error: new GorkflowError('CHILD_FAILED', `child run ${child.runId} of step ${node.id} ended ${child.status} (${why})`, { details }) }
  }
  return { kind: 'wait', until: scope.clock.now() + CHILD_RECHECK_MS }
}

/** A step's output as the store will hold it. @throws PayloadTooLargeError over the limit (README "Limits") */
function outputWithin(scope: AttemptScope, node: WorkflowNode, output: unknown): Json {
  return toJsonWithin(output, scope.stepOutputBytes, 'stepOutputBytes', `output of step ${node.id}`)
}

/** Normalises a handler's value to what the store will hold, so fresh and resumed runs see the same thing. */
function toJson(value: unknown): Json {
  if (value === undefined) return null
  return JSON.parse(JSON.stringify(value)) as Json
}
