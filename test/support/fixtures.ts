/**
 * @module
 * Override builders for domain records. Each call returns a fresh object (and a fresh runId), so no two
 * tests share mutable data. Times are fixed numbers: nothing here reads the clock.
 */
import type { RunRecord, StepExecution } from '../../src/core/model'

/** The instant every fixture is created at (2023-11-14T22:13:20Z). */
export const T0 = 1_700_000_000_000

/** A PENDING run of workflow `wf-test` with no lease, no wake time and every optional field null. */
export function makeRun(overrides: Partial<RunRecord> = {}): RunRecord {
  return {
    runId: crypto.randomUUID(),
    workflowId: 'wf-test',
    workflowVersion: '1',
    workflowFingerprint: null,
    status: 'PENDING',
    progress: 0,
    input: { n: 1 },
    output: null,
    error: null,
    resourceId: null,
    tags: {},
    context: null,
    idempotencyKey: null,
    createdAt: T0,
    startedAt: null,
    completedAt: null,
    updatedAt: T0,
    leaseOwner: null,
    leaseExpiresAt: null,
    wakeAt: null,
    cancelRequestedAt: null,
    waitingFor: null,
    retryOf: null,
    retriedBy: null,
    parentRunId: null,
    concurrencyLimit: null,
    traceparent: null,
    webhook: null,
    ...overrides,
  }
}

/** A PENDING first step (`step-1`, executionIndex 0) of a fresh run id unless `runId` is given. */
export function makeStep(overrides: Partial<StepExecution> = {}): StepExecution {
  return {
    runId: crypto.randomUUID(),
    stepId: 'step-1',
    executionIndex: 0,
    status: 'PENDING',
    attempt: 0,
    interruptions: 0,
    input: { n: 1 },
    output: null,
    error: null,
    startedAt: null,
    completedAt: null,
    durationMs: 0,
    wakeAt: null,
    createdAt: T0,
    updatedAt: T0,
    ...overrides,
  }
}
