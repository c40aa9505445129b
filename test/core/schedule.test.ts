import { describe, expect, it } from 'vitest'
import { Engine } from '../../src/core/engine'
import { defineStep } from '../../src/core/step'
import { dueTick, latestTick, nextTick, parseSchedule, SCHEDULE_GRACE_MS, type Schedule } from '../../src/core/schedule'
import { workflow } from '../../src/core/workflow'
import { MemoryStore } from '../../src/store/memory/memory-store'
import { countingStore } from '../support/counting-store'
import { VirtualClock } from '../support/virtual-clock'
import { runScheduleCases } from './schedule.cases'

const MINUTE = 60_000
const at = (iso: string): number => Date.parse(iso)

/** Every tick `dueTick` fires while a sweeper looks every `stepMs` from `from` to `to` on a virtual clock. */
function fireWhileLooking(schedule: Schedule, from: string, to: string, stepMs = MINUTE): string[] {
  const clock = new VirtualClock(at(from))
  const fired: string[] = []
  let last: number | null = null
  while (clock.now() <= at(to)) {
    const tick = dueTick(schedule, last, clock.now())
    if (tick !== null) {
      fired.push(new Date(tick).toISOString())
      last = tick
    }
    clock.advance(stepMs)
  }
  return fired
}

describe('parseSchedule', () => {
  it('refuses a malformed cron, an unknown time zone or policy when the workflow is built', () => {
    for (const schedule of [
      { cron: 'every day' },
      { cron: '61 * * * *' },
      { cron: '' },
      { cron: '0 9 * * *', timezone: 'Mars/Olympus' },
      { cron: '0 9 * * *', missed: 'all' },
    ]) {
      expect(() => workflow({ id: 'w', schedule: schedule as never }), JSON.stringify(schedule)).toThrow(
        expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
      )
    }
  })

  it('freezes the schedule with its defaults', () => {
    expect(parseSchedule('w', { cron: '*/5 * * * *' })).toEqual({ cron: '*/5 * * * *', timezone: null, input: null, missed: 'skip' })
  })
})

describe('tick computation', () => {
  it('reads the fields in the schedule time zone, following its summer time', () => {
    const nine = parseSchedule('w', { cron: '0 9 * * *', timezone: 'Europe/Berlin' })
    expect(nextTick(nine, at('2026-01-15T00:00:00Z'))).toBe(at('2026-01-15T08:00:00Z'))
    expect(nextTick(nine, at('2026-07-15T00:00:00Z'))).toBe(at('2026-07-15T07:00:00Z'))
    expect(latestTick(nine, at('2026-07-15T07:00:00Z'))).toBe(at('2026-07-15T07:00:00Z'))
    expect(latestTick(nine, at('2026-07-15T06:59:59.999Z'))).toBe(at('2026-07-14T07:00:00Z'))
  })

  it('fires a tick in the spring-forward gap once, and a tick in the repeated autumn hour once (a look every 5 minutes)', () => {
    const early = parseSchedule('w', { cron: '30 2 * * *', timezone: 'Europe/Berlin' })
    // 29 March 2026: 02:00 → 03:00 local, so 02:30 does not exist that night; croner fires at 03:00 (01:00Z).
    expect(fireWhileLooking(early, '2026-03-28T00:00:00Z', '2026-03-30T23:59:00Z', 5 * MINUTE)).toEqual([
      '2026-03-28T01:30:00.000Z',
      '2026-03-29T01:00:00.000Z',
      '2026-03-30T00:30:00.000Z',
    ])
    // 25 October 2026: 03:00 → 02:00 local, so 02:30 happens twice; one run that day.
    const autumn = fireWhileLooking(early, '2026-10-24T00:00:00Z', '2026-10-26T23:59:00Z', 5 * MINUTE)
    expect(autumn).toHaveLength(3)
    expect(autumn.filter((t) => t.startsWith('2026-10-25'))).toHaveLength(1)
  })

  it('counts every-second ticks at second precision', () => {
    const everySecond = parseSchedule('w', { cron: '* * * * * *' })
    expect(latestTick(everySecond, at('2026-01-01T00:00:00.500Z'))).toBe(at('2026-01-01T00:00:00Z'))
    expect(nextTick(everySecond, at('2026-01-01T00:00:00.500Z'))).toBe(at('2026-01-01T00:00:01Z'))
  })

  it('fires a 5-minute pattern 12 times an hour under a minute-by-minute sweeper', () => {
    const five = parseSchedule('w', { cron: '*/5 * * * *' })
    expect(fireWhileLooking(five, '2026-05-01T10:00:30Z', '2026-05-01T10:59:59Z')).toHaveLength(12)
  })

  it('decides missed ticks by policy: skip past the grace window, catch up the last one once', () => {
    const skip = parseSchedule('w', { cron: '0 * * * *' })
    const catchUp = parseSchedule('w', { cron: '0 * * * *', missed: 'catchUpLast' })
    const tick = at('2026-05-01T10:00:00Z')
    expect(dueTick(skip, null, tick + SCHEDULE_GRACE_MS)).toBe(tick)
    expect(dueTick(skip, null, tick + SCHEDULE_GRACE_MS + 1)).toBeNull()
    expect(dueTick(skip, tick - 3 * 3_600_000, tick + 30 * MINUTE)).toBeNull()
    expect(dueTick(catchUp, tick - 3 * 3_600_000, tick + 30 * MINUTE)).toBe(tick)
    expect(dueTick(catchUp, tick, tick + 30 * MINUTE)).toBeNull()
    // Never fired: no baseline to catch up from, so only a tick within the grace window fires.
    expect(dueTick(catchUp, null, tick + 30 * MINUTE)).toBeNull()
  })
})

describe('fireSchedules round trips', () => {
  it('costs no store call without schedules, one read when none is due, and a create and a write per tick fired', async () => {
    const clock = new VirtualClock(at('2026-05-01T10:00:30Z'))
    const step = defineStep({ id: 's', handler: () => 1 })
    const noSchedule = countingStore(new MemoryStore())
    expect(await new Engine({ store: noSchedule.store, workflows: [workflow({ id: 'p' }).then(step).build()], clock }).fireSchedules()).toBe(0)
    expect(noSchedule.total()).toBe(0)

    const counted = countingStore(new MemoryStore())
    const scheduled = workflow({ id: 'every5', schedule: { cron: '*/5 * * * *' } }).then(step).build()
    const engine = new Engine({ store: counted.store, workflows: [scheduled], clock })
    expect(await engine.fireSchedules()).toBe(1)
    expect(counted.calls).toEqual({ listScheduleStates: 1, createRun: 1, updateScheduleState: 1 })
    counted.reset()
    clock.advance(MINUTE)
    expect(await engine.fireSchedules()).toBe(0)
    expect(counted.calls).toEqual({ listScheduleStates: 1 })
  })
})

runScheduleCases('MemoryStore', async () => ({ store: new MemoryStore() }))
