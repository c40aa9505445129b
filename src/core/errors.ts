/**
 * @module
 * Typed errors with stable codes. Callers (HTTP mapping, tests, users) branch on `code`, never on the
 * message or on `instanceof`, so errors keep their meaning across bundles and package copies.
 */
import type { Json, RunStatus } from './model'

export const ERROR_CODES = [
  // step and run outcomes (docs/decisions.md#error-codes)
  'VALIDATION_ERROR',
  'TIMEOUT',
  'EXECUTION_FAILED',
  'NON_RETRYABLE',
  'CANCELLED',
  'ATTEMPT_INTERRUPTED',
  'CHILD_FAILED',
  'MAP_TOO_LARGE',
  'INTERNAL_ERROR',
  // definitions and arguments
  'INVALID_WORKFLOW',
  'INVALID_ARGUMENT',
  'WORKFLOW_NOT_FOUND',
  'WORKFLOW_VERSION_NOT_FOUND',
  'SCHEDULE_NOT_FOUND',
  'MIGRATION_REFUSED',
  // store contract
  'RUN_NOT_FOUND',
  'STEP_EXECUTION_NOT_FOUND',
  'STEP_OUTPUT_NOT_FOUND',
  'STATE_NOT_FOUND',
  'EVENT_NOT_FOUND',
  'EVENT_ALREADY_DELIVERED',
  'RUN_ALREADY_EXISTS',
  'RUN_ALREADY_FINISHED',
  'RUN_STATE_CONFLICT',
  'LEASE_LOST',
  'INVALID_CURSOR',
  'PAYLOAD_TOO_LARGE',
  'STORE_UNAVAILABLE',
  'SCHEMA_OUT_OF_DATE',
] as const
export type ErrorCode = (typeof ERROR_CODES)[number]

/** Base class of every error this library throws on purpose. */
export class GorkflowError extends Error {
  override name = 'GorkflowError'
  readonly code: ErrorCode
  readonly details: Json | undefined

  constructor(code: ErrorCode, message: string, options: { cause?: unknown; details?: Json } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.code = code
    this.details = options.details
  }

  /** The shape persisted and returned by the API; never includes `cause` or the stack. */
  toJSON(): { code: ErrorCode; message: string; details?: Json } {
    return this.details === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, details: this.details }
  }
}

/** Whether `err` is one of ours, optionally with a given code. Checks the code, not the class. */
export function isGorkflowError<C extends ErrorCode>(
  err: unknown,
  code?: C,
): err is GorkflowError & { code: C } {
  if (typeof err !== 'object' || err === null || !('code' in err)) return false
  const actual = (err as { code: unknown }).code
  return code === undefined ? (ERROR_CODES as readonly unknown[]).includes(actual) : actual === code
}

/**
 * A rejection handler that turns one of ours with one of `codes` into `fallback` and rethrows anything else:
 * `store.getRun(id).catch(unlessCode(['RUN_NOT_FOUND'], null))`.
 */
export function unlessCode<T>(codes: readonly ErrorCode[], fallback: T): (err: unknown) => T {
  return (err) => {
    if (codes.some((code) => isGorkflowError(err, code))) return fallback
    throw err
  }
}

export class RunNotFoundError extends GorkflowError {
  override name = 'RunNotFoundError'
  constructor(readonly runId: string) {
    super('RUN_NOT_FOUND', `run ${runId} not found`)
  }
}

export class StepExecutionNotFoundError extends GorkflowError {
  override name = 'StepExecutionNotFoundError'
  constructor(runId: string, stepId: string) {
    super('STEP_EXECUTION_NOT_FOUND', `step execution ${stepId} of run ${runId} not found`)
  }
}

export class StepOutputNotFoundError extends GorkflowError {
  override name = 'StepOutputNotFoundError'
  constructor(runId: string, stepId: string) {
    super('STEP_OUTPUT_NOT_FOUND', `output of step ${stepId} of run ${runId} not found`)
  }
}

export class StateNotFoundError extends GorkflowError {
  override name = 'StateNotFoundError'
  constructor(runId: string, key: string) {
    super('STATE_NOT_FOUND', `state key ${JSON.stringify(key)} of run ${runId} not found`)
  }
}

export class EventNotFoundError extends GorkflowError {
  override name = 'EventNotFoundError'
  constructor(runId: string, eventName: string) {
    super('EVENT_NOT_FOUND', `event ${JSON.stringify(eventName)} of run ${runId} not found`)
  }
}

/** Each event name is delivered to a run at most once; a repeat would be ambiguous for its wait. */
export class EventAlreadyDeliveredError extends GorkflowError {
  override name = 'EventAlreadyDeliveredError'
  constructor(runId: string, eventName: string) {
    super('EVENT_ALREADY_DELIVERED', `event ${JSON.stringify(eventName)} was already delivered to run ${runId}`)
  }
}

export class RunAlreadyExistsError extends GorkflowError {
  override name = 'RunAlreadyExistsError'
  constructor(runId: string) {
    super('RUN_ALREADY_EXISTS', `run ${runId} already exists`)
  }
}

/** A write was refused because the run is in a terminal state, which is never overwritten. */
export class RunAlreadyFinishedError extends GorkflowError {
  override name = 'RunAlreadyFinishedError'
  constructor(
    readonly runId: string,
    readonly status: RunStatus,
  ) {
    super('RUN_ALREADY_FINISHED', `run ${runId} is already ${status}`)
  }
}

/** A conditional run update found the run in another state than the condition required. */
export class RunStateConflictError extends GorkflowError {
  override name = 'RunStateConflictError'
  constructor(
    readonly runId: string,
    readonly status: RunStatus,
    message = `run ${runId} is ${status}`,
  ) {
    super('RUN_STATE_CONFLICT', message)
  }
}

/** The writer no longer holds the run's lease: another engine claimed it. The writer must stop. */
export class LeaseLostError extends GorkflowError {
  override name = 'LeaseLostError'
  constructor(readonly runId: string) {
    super('LEASE_LOST', `run ${runId} is leased by another engine`)
  }
}

export class InvalidCursorError extends GorkflowError {
  override name = 'InvalidCursorError'
  constructor() {
    super('INVALID_CURSOR', 'cursor is not valid for this listing')
  }
}

/**
 * A value or a record over a size limit (README "Limits"), refused before anything was written. `kind` names the
 * engine's limit that refused it (`stepOutputBytes`, …); absent when a store's own item budget did.
 */
export class PayloadTooLargeError extends GorkflowError {
  override name = 'PayloadTooLargeError'
  constructor(what: string, size: number, limit: number, kind?: string) {
    super('PAYLOAD_TOO_LARGE', `${what} is ${size} bytes, over the limit of ${limit} bytes`, {
      details: kind === undefined ? { size, limit } : { size, limit, kind },
    })
  }
}

/** The backing database failed or could not be reached; the operation may be retried. */
export class StoreUnavailableError extends GorkflowError {
  override name = 'StoreUnavailableError'
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('STORE_UNAVAILABLE', message, options)
  }
}

export class WorkflowNotFoundError extends GorkflowError {
  override name = 'WorkflowNotFoundError'
  constructor(workflowId: string) {
    super('WORKFLOW_NOT_FOUND', `workflow ${JSON.stringify(workflowId)} is not registered`)
  }
}

/** The workflow is registered but its current version has no `schedule` (pause, resume). */
export class ScheduleNotFoundError extends GorkflowError {
  override name = 'ScheduleNotFoundError'
  constructor(workflowId: string) {
    super('SCHEDULE_NOT_FOUND', `workflow ${JSON.stringify(workflowId)} has no schedule`)
  }
}

/** The workflow is registered, but not in the version asked for (a start, a migration, a run's own version). */
export class WorkflowVersionNotFoundError extends GorkflowError {
  override name = 'WorkflowVersionNotFoundError'
  constructor(workflowId: string, version: string, registered: readonly string[]) {
    super(
      'WORKFLOW_VERSION_NOT_FOUND',
      `workflow ${JSON.stringify(workflowId)} has no version ${JSON.stringify(version)} registered here` +
        ` (registered: ${registered.map((v) => JSON.stringify(v)).join(', ')})`,
      { details: { registered: [...registered] } },
    )
  }
}

/** One reason a run cannot move to another version of its workflow. */
export interface MigrationMismatch {
  /** The step concerned; null for the run input. */
  readonly stepId: string | null
  readonly problem: string
}

/** `Engine.migrate` found the run's completed steps incompatible with the target version; nothing changed. */
export class MigrationRefusedError extends GorkflowError {
  override name = 'MigrationRefusedError'
  constructor(runId: string, version: string, readonly mismatches: readonly MigrationMismatch[]) {
    super(
      'MIGRATION_REFUSED',
      `run ${runId} cannot move to version ${JSON.stringify(version)}: ` +
        mismatches.map((m) => (m.stepId === null ? m.problem : `step ${m.stepId}: ${m.problem}`)).join('; '),
      { details: { mismatches: mismatches.map((m) => ({ stepId: m.stepId, problem: m.problem })) } },
    )
  }
}

/** `build()` refused a workflow definition; the message names the offending steps. */
export class InvalidWorkflowError extends GorkflowError {
  override name = 'InvalidWorkflowError'
  constructor(message: string) {
    super('INVALID_WORKFLOW', message)
  }
}

/** An option or argument is out of range (negative retries, bad timeout, …). */
export class InvalidArgumentError extends GorkflowError {
  override name = 'InvalidArgumentError'
  constructor(message: string) {
    super('INVALID_ARGUMENT', message)
  }
}

/** One problem found by a Standard Schema validator. */
export interface ValidationIssue {
  readonly path: string
  readonly message: string
}

/** Input or output failed its schema. Never retried (docs/decisions.md#retries). */
export class ValidationError extends GorkflowError {
  override name = 'ValidationError'
  constructor(
    message: string,
    readonly issues: readonly ValidationIssue[],
  ) {
    super('VALIDATION_ERROR', message, { details: { issues: issues.map((i) => ({ ...i })) } })
  }
}

/**
 * Throw from a step handler to fail the step at once, without further attempts.
 * @example throw new NonRetryableError('card declined')
 */
export class NonRetryableError extends GorkflowError {
  override name = 'NonRetryableError'
  constructor(message: string, options: { cause?: unknown; details?: Json } = {}) {
    super('NON_RETRYABLE', message, options)
  }
}

/** Turns anything thrown into an Error, keeping the original as `cause` (graphile's coerceError). */
export function toError(thrown: unknown): Error {
  if (thrown instanceof Error) return thrown
  const message = typeof thrown === 'string' ? thrown : safeStringify(thrown)
  return new Error(message || 'unknown error', { cause: thrown })
}

function safeStringify(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value)
  } catch {
    return String(value)
  }
}
