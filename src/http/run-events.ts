/**
 * @module
 * The events of a run as its stored records show them, for `GET /v1/runs/:runId/stream`. Nothing is kept per run
 * outside the store: every event is derived from fields of the run record and its step records, and its id is its
 * position, built from those same fields. So a client that reconnects with `Last-Event-ID` gets exactly the events
 * after that position, from whichever process answers, however the run went on meanwhile (README, "Live stream").
 *
 * A step record holds its latest attempt only: a step that retried twice within one poll interval shows its last
 * retry, not both. Positions are commit times, which grow within a run as long as the engines' clocks agree (one
 * lease owner writes at a time).
 */
import { isTerminalRunStatus, type RunRecord, type StepExecution } from '../core/model'

export type RunEventType =
  | 'run.started'
  | 'run.paused'
  | 'run.resumed'
  | 'run.finished'
  | 'step.started'
  | 'step.waiting'
  | 'step.retrying'
  | 'step.completed'
  | 'step.failed'
  | 'step.skipped'
  | 'step.cancelled'

/**
 * What the client was last told about the run's status: `R` running (or not started), `P` paused, `T` terminal.
 * Carried in every id, because a pause has no timestamp of its own on the run record.
 */
export type KnownStatus = 'R' | 'P' | 'T'

/**
 * Where an event sits in the run's history; ids order by (time, group, step, attempt, rank). Steps that commit at the
 * same instant order by executionIndex, which follows the order in which they first started.
 */
export interface EventPosition {
  readonly time: number
  /** 0: the run started; 1: a step event; 2: a change of the run's status. */
  readonly group: number
  /** The step's executionIndex; 0 for run events. */
  readonly step: number
  readonly attempt: number
  /** Order of a step's events at the same instant: started, waiting, retrying, finished. */
  readonly rank: number
}

export interface RunEvent {
  readonly type: RunEventType
  readonly position: EventPosition
  readonly data: Record<string, unknown>
}

/** What a stream has sent so far: the last position and the status the client knows. */
export interface StreamCursor {
  readonly position: EventPosition | null
  readonly known: KnownStatus
}

export const START_CURSOR: StreamCursor = { position: null, known: 'R' }

const ID_PATTERN = /^(\d{1,16})\.([0-2])\.(\d{1,9})\.(\d{1,9})\.(\d)\.([RPT])$/

/** The SSE id of an event sent with `known` as the client's status after it. */
export function eventId(position: EventPosition, known: KnownStatus): string {
  const { time, group, step, attempt, rank } = position
  return `${time}.${group}.${step}.${attempt}.${rank}.${known}`
}

/** Reads a `Last-Event-ID`; null when it is not an id this stream sent. */
export function parseEventId(id: string): StreamCursor | null {
  const m = ID_PATTERN.exec(id)
  if (!m) return null
  const [, time, group, step, attempt, rank, known] = m as unknown as [string, string, string, string, string, string, KnownStatus]
  return { position: { time: Number(time), group: Number(group), step: Number(step), attempt: Number(attempt), rank: Number(rank) }, known }
}

export function comparePositions(a: EventPosition, b: EventPosition): number {
  return a.time - b.time || a.group - b.group || a.step - b.step || a.attempt - b.attempt || a.rank - b.rank
}

/**
 * The events after `cursor` that `run` and `steps` (read after the run) show, in order, and the cursor after them.
 * Step events later than `run.updatedAt` wait for the next read of the run, so an event is never sent before an
 * earlier one that the run's next read could still reveal.
 */
export function eventsAfter(
  run: RunRecord,
  steps: readonly StepExecution[],
  cursor: StreamCursor,
): { events: { event: RunEvent; id: string }[]; cursor: StreamCursor } {
  const derived = [...runStarted(run), ...steps.flatMap(stepEvents)]
    .filter((e) => e.position.time <= run.updatedAt)
    .filter((e) => cursor.position === null || comparePositions(e.position, cursor.position) > 0)
    .sort((a, b) => comparePositions(a.position, b.position))
  const out: { event: RunEvent; id: string }[] = derived.map((event) => ({ event, id: eventId(event.position, cursor.known) }))
  let position = out.length > 0 ? (out[out.length - 1] as { event: RunEvent }).event.position : cursor.position
  let known = cursor.known
  const change = statusChange(run, known)
  if (change) {
    const time = Math.max(run.updatedAt, position?.time ?? 0)
    const at: EventPosition = { time, group: 2, step: 0, attempt: 0, rank: 0 }
    // Two status changes at one instant (a pause and a resume in the same millisecond) still get ascending ids.
    position = position !== null && comparePositions(at, position) <= 0 ? { ...position, rank: position.rank + 1 } : at
    known = change.known
    const event: RunEvent = { type: change.type, position, data: runData(run) }
    out.push({ event, id: eventId(position, known) })
  }
  return { events: out, cursor: { position, known } }
}

function statusChange(run: RunRecord, known: KnownStatus): { type: RunEventType; known: KnownStatus } | null {
  if (isTerminalRunStatus(run.status)) return known === 'T' ? null : { type: 'run.finished', known: 'T' }
  if (run.status === 'PAUSED') return known === 'P' ? null : { type: 'run.paused', known: 'P' }
  return known === 'P' ? { type: 'run.resumed', known: 'R' } : null
}

function runData(run: RunRecord): Record<string, unknown> {
  return {
    runId: run.runId,
    status: run.status,
    progress: run.progress,
    ...(run.error === null ? {} : { error: { code: run.error.code, message: run.error.message, step: run.error.step } }),
  }
}

function runStarted(run: RunRecord): RunEvent[] {
  if (run.startedAt === null) return []
  return [{ type: 'run.started', position: { time: run.startedAt, group: 0, step: 0, attempt: 0, rank: 0 }, data: { runId: run.runId } }]
}

function stepEvents(step: StepExecution): RunEvent[] {
  const events: RunEvent[] = []
  const at = (type: RunEventType, time: number, attempt: number, rank: number, extra: Record<string, unknown> = {}) =>
    events.push({ type, position: { time, group: 1, step: step.executionIndex, attempt, rank }, data: { stepId: step.stepId, attempt, ...extra } })
  const { error } = step
  // The latest retry stays readable on the record while the next attempt runs, in its error.
  if (error !== null && (step.status === 'RETRYING' || error.attempt < step.attempt)) {
    at('step.retrying', error.timestamp, error.attempt, 2, {
      error: { code: error.code, message: error.message },
      ...(step.status === 'RETRYING' ? { nextAttemptAt: step.wakeAt } : {}),
    })
  }
  if (step.startedAt !== null && step.status !== 'SKIPPED' && step.status !== 'PENDING') {
    at('step.started', step.startedAt, step.attempt, 0)
  }
  if (step.status === 'RUNNING' && step.wakeAt !== null) at('step.waiting', step.updatedAt, step.attempt, 1, { until: step.wakeAt })
  if (step.status === 'COMPLETED') at('step.completed', step.completedAt ?? step.updatedAt, step.attempt, 3, { durationMs: step.durationMs })
  if (step.status === 'SKIPPED') at('step.skipped', step.completedAt ?? step.updatedAt, step.attempt, 3)
  if (step.status === 'CANCELLED') at('step.cancelled', step.updatedAt, step.attempt, 3)
  if (step.status === 'FAILED') {
    at('step.failed', step.completedAt ?? step.updatedAt, step.attempt, 3, error === null ? {} : { error: { code: error.code, message: error.message } })
  }
  return events
}
