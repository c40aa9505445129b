/**
 * The derivation behind the run stream: events in order when commits share a millisecond, ids that parse back to the
 * same cursor, events held back until the run's record has caught up, and status changes told once.
 */
import { describe, expect, it } from 'vitest'
import { eventId, eventsAfter, parseEventId, START_CURSOR } from '../../src/http/run-events'
import { makeRun, makeStep, T0 } from '../support/fixtures'

const run = makeRun({ status: 'RUNNING', startedAt: T0, updatedAt: T0 + 5 })
const a = makeStep({ runId: run.runId, stepId: 'zeta', executionIndex: 0, status: 'COMPLETED', startedAt: T0, completedAt: T0 + 5, updatedAt: T0 + 5 })
const b = makeStep({ runId: run.runId, stepId: 'alpha', executionIndex: 1, status: 'RUNNING', startedAt: T0 + 5, updatedAt: T0 + 5 })

describe('eventsAfter', () => {
  it('orders steps that commit in the same millisecond by executionIndex, not by id', () => {
    const { events } = eventsAfter(run, [b, a], START_CURSOR)
    expect(events.map(({ event }) => `${event.type}:${String(event.data.stepId ?? '')}`)).toEqual([
      'run.started:',
      'step.started:zeta',
      'step.completed:zeta',
      'step.started:alpha',
    ])
  })

  it('gives ids that parse back to the cursor, and nothing again after the last one', () => {
    const { events, cursor } = eventsAfter(run, [a, b], START_CURSOR)
    const last = events.at(-1)
    expect(parseEventId(last?.id ?? '')).toEqual(cursor)
    expect(eventsAfter(run, [a, b], cursor).events).toEqual([])
    for (const { event, id } of events) expect(eventId(event.position, 'R')).toBe(id)
  })

  it('holds back a step event later than the run record it was read with', () => {
    const ahead = makeStep({ ...b, status: 'COMPLETED', completedAt: T0 + 9, updatedAt: T0 + 9 })
    const { events } = eventsAfter(run, [a, ahead], START_CURSOR)
    expect(events.filter(({ event }) => event.data.stepId === 'alpha').map(({ event }) => event.type)).toEqual(['step.started'])
  })

  it('tells a pause once, and its resumption once', () => {
    const paused = { ...run, status: 'PAUSED' as const, updatedAt: T0 + 6 }
    const first = eventsAfter(paused, [a, b], START_CURSOR)
    expect(first.events.at(-1)?.event.type).toBe('run.paused')
    expect(first.cursor.known).toBe('P')
    expect(eventsAfter({ ...paused, updatedAt: T0 + 7 }, [a, b], first.cursor).events).toEqual([])
    const resumed = eventsAfter({ ...run, updatedAt: T0 + 8 }, [a, b], first.cursor)
    expect(resumed.events.map(({ event }) => event.type)).toEqual(['run.resumed'])
  })

  it('refuses ids it never made', () => {
    for (const id of ['', 'x', '1.1.1.1.1', '1.3.0.0.0.R', '1.1.0.0.0.X', `${'9'.repeat(17)}.1.0.0.0.R`]) expect(parseEventId(id)).toBeNull()
  })
})
