/**
 * @module
 * Domain records shared by the engine, the stores and the HTTP layer. Stores map these to rows or items at
 * their boundary; nothing outside `src/store/` sees a row. Times are UTC epoch milliseconds everywhere.
 * Optional scalars are `null` (never `undefined`) so every store round-trips them identically.
 */

/** Any value that survives `JSON.stringify` / `JSON.parse` unchanged. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json }

export const RUN_STATUSES = ['PENDING', 'RUNNING', 'PAUSED', 'COMPLETED', 'FAILED', 'CANCELLED'] as const
export type RunStatus = (typeof RUN_STATUSES)[number]

export const TERMINAL_RUN_STATUSES = ['COMPLETED', 'FAILED', 'CANCELLED'] as const satisfies readonly RunStatus[]
export type TerminalRunStatus = (typeof TERMINAL_RUN_STATUSES)[number]

/** Whether no further transition may ever be written for a run in this status (docs/decisions.md#terminal-states). */
export function isTerminalRunStatus(status: RunStatus): status is TerminalRunStatus {
  return status === 'COMPLETED' || status === 'FAILED' || status === 'CANCELLED'
}

export const STEP_STATUSES = [
  'PENDING',
  'RUNNING',
  'RETRYING',
  'COMPLETED',
  'FAILED',
  'SKIPPED',
  'CANCELLED',
] as const
export type StepStatus = (typeof STEP_STATUSES)[number]

/** Whether a step has a final outcome that resuming must never execute again. */
export function isFinishedStepStatus(status: StepStatus): boolean {
  return status === 'COMPLETED' || status === 'SKIPPED' || status === 'FAILED' || status === 'CANCELLED'
}

export const BACKOFF_STRATEGIES = ['LINEAR', 'EXPONENTIAL', 'NONE'] as const
export type BackoffStrategy = (typeof BACKOFF_STRATEGIES)[number]

/** Why a run failed. `step` names the failing step when one did (docs/decisions.md#error-codes). */
export interface WorkflowError {
  readonly code: string
  readonly message: string
  readonly step: string | null
  readonly timestamp: number
  readonly details?: Json
}

/** Why one step failed; `attempt` is the 0-based attempt that actually failed (docs/decisions.md#retries). */
export interface StepError {
  readonly code: string
  readonly message: string
  readonly attempt: number
  readonly timestamp: number
  readonly details?: Json
}

/**
 * What a RUNNING run is waiting for while it holds no lease and no compute (durable sleep, wait-for-event).
 * `until` is the deadline (the sleep's end, the event's timeout); null waits forever.
 */
export type WaitingFor =
  | { readonly kind: 'sleep'; readonly stepId: string; readonly until: number }
  | { readonly kind: 'event'; readonly stepId: string; readonly name: string; readonly until: number | null }
  /**
   * A child run (README "Child workflows"): `name` is the internal event its completion delivers, so the stores
   * wake the parent exactly as for an event wait; `until` is when the parent looks at the child again regardless.
   */
  | {
      readonly kind: 'child'
      readonly stepId: string
      readonly name: string
      readonly runId: string
      readonly workflowId: string
      readonly until: number
    }
  /**
   * The run's version (or its workflow) is not registered on the engine that last claimed it, which released it
   * untouched for an engine that has it; `until` is when a sweeper looks at it again.
   */
  | {
      readonly kind: 'version'
      readonly version: string
      readonly fingerprint: string | null
      /** True when a definition with this version string but another graph is registered: a forgotten version bump. */
      readonly sameVersionOtherGraph: boolean
      readonly until: number
    }

/** The name of the event whose delivery wakes a run waiting for `waitingFor` (an event, or a child's end); else null. */
export function awaitedEventName(waitingFor: WaitingFor | null): string | null {
  return waitingFor !== null && (waitingFor.kind === 'event' || waitingFor.kind === 'child') ? waitingFor.name : null
}

/** An event delivered to a run (`engine.sendEvent`), kept until a waitForEvent node consumes it. */
export interface DeliveredEvent {
  readonly name: string
  readonly payload: Json
  readonly receivedAt: number
}

/** One execution of a workflow: everything the engine needs to resume it lives here or in its steps. */
export interface RunRecord {
  readonly runId: string
  readonly workflowId: string
  readonly workflowVersion: string
  /**
   * The structural fingerprint of the definition the run started on (`WorkflowDefinition.fingerprint`); null for
   * runs stored before fingerprints existed, which are pinned by their version string alone.
   */
  readonly workflowFingerprint: string | null
  readonly status: RunStatus
  /**
   * 0..1: (COMPLETED + SKIPPED + continued-FAILED steps) / all steps; 1 only when COMPLETED
   * (docs/decisions.md#progress).
   */
  readonly progress: number
  readonly input: Json
  /** The final step's output, or `{ [stepId]: output }` for several final steps; null until COMPLETED. */
  readonly output: Json
  readonly error: WorkflowError | null
  readonly resourceId: string | null
  readonly tags: Readonly<Record<string, string>>
  /** Persisted run metadata supplied at start; never the live `deps` (docs/decisions.md#context-and-deps). */
  readonly context: Json
  /** Unique per workflow: a repeated start with the same key returns this run. */
  readonly idempotencyKey: string | null
  readonly createdAt: number
  readonly startedAt: number | null
  readonly completedAt: number | null
  readonly updatedAt: number
  /** Engine instance currently allowed to write this run, or null when none holds it. */
  readonly leaseOwner: string | null
  /** After this instant the lease is void and any engine may claim the run. */
  readonly leaseExpiresAt: number | null
  /** Earliest instant the run may be claimed again (long retry backoff, durable sleep). */
  readonly wakeAt: number | null
  /** When cancellation was requested; the status is CANCELLED from the same write. */
  readonly cancelRequestedAt: number | null
  /** The sleep or event the run waits for, for display; null when it waits for nothing. */
  readonly waitingFor: WaitingFor | null
  /** The FAILED run this one retries, reusing its completed steps' outputs. */
  readonly retryOf: string | null
  /** The run created by retrying this one. */
  readonly retriedBy: string | null
  /** The run whose child-workflow step started this one (README "Child workflows"); null for a top-level run. */
  readonly parentRunId: string | null
  /**
   * At most this many runs of this workflow with this `resourceId` execute at once (from the workflow's
   * `concurrency.limit` at start); null for no limit. Enforced by `claimRun`.
   */
  readonly concurrencyLimit: number | null
  /**
   * W3C trace context (`00-<trace id>-<span id>-<flags>`) the run was started under; every execution's span joins
   * this trace, whichever process runs it (README "Traces"). Null when the run was started outside any trace.
   */
  readonly traceparent: string | null
  /** The completion webhook of the run and how its delivery went; null when none was asked for. */
  readonly webhook: WebhookDelivery | null
}

/**
 * A completion webhook's durable delivery state (README, "Completion webhooks"). Due once the run is terminal and
 * `nextAttemptAt <= now`; done once `deliveredAt` is set or the attempts ran out (`nextAttemptAt` null).
 */
export interface WebhookDelivery {
  readonly url: string
  readonly attempts: number
  /** HTTP status of the last attempt; 0 when it got no response (refused, timed out). */
  readonly lastStatus: number | null
  readonly nextAttemptAt: number | null
  readonly deliveredAt: number | null
}

/** The persisted record of one step within one run; retries update the same record. */
export interface StepExecution {
  readonly runId: string
  readonly stepId: string
  /** Unique within a run; follows the order in which steps first started (docs/decisions.md#progress). */
  readonly executionIndex: number
  readonly status: StepStatus
  /** 0-based index of the latest attempt started; every attempt, interrupted or not, gets its own. */
  readonly attempt: number
  /**
   * Attempts that a crash, a restart or a shutdown cut short (docs/decisions.md#interrupted-attempts). They do not
   * spend `maxRetries`; more than `maxInterruptions` of them fail the step with ATTEMPT_INTERRUPTED.
   */
  readonly interruptions: number
  readonly input: Json
  /** Present (possibly JSON null) only for COMPLETED and SKIPPED steps; null otherwise. */
  readonly output: Json
  readonly error: StepError | null
  /** Start of the latest attempt. */
  readonly startedAt: number | null
  readonly completedAt: number | null
  /** Duration of the latest finished attempt. */
  readonly durationMs: number
  /** When a waiting step (RETRYING, a durable sleep, an event wait's timeout) may continue; null otherwise. */
  readonly wakeAt: number | null
  readonly createdAt: number
  readonly updatedAt: number
}
