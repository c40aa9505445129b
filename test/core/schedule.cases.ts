/**
 * @module
 * Scheduled starts on any store: exactly one run per tick whatever the number of engines, the missed-ticks policy
 * after downtime, and pause/resume, all on a virtual clock (README "Scheduled starts").
 */
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import type { Engine } from '../../src/core/engine'
import { nextTick, SCHEDULE_GRACE_MS, tickKey, type ScheduleOptions } from '../../src/core/schedule'
import { defineStep } from '../../src/core/step'
import { workflow, type AnyWorkflow } from '../../src/core/workflow'
import { useEngineHarness, type EngineHarness } from '../support/engine-harness'

const MINUTE = 60_000

export function runScheduleCases(name: string, setup: () => Promise<EngineHarness>): void {
  describe(`Scheduled starts on ${name}`, () => {
    const { store, clock, engine } = useEngineHarness(setup)

    const report = defineStep({ id: 'report', handler: (_c, input: { kind: string }) => ({ reported: input.kind }) })
    const scheduled = (schedule: Partial<ScheduleOptions> = {}): AnyWorkflow =>
      workflow({ id: 'nightly', input: z.object({ kind: z.string() }), schedule: { cron: '*/5 * * * *', input: { kind: 'sales' }, ...schedule } })
        .then(report)
        .build()

    /** Moves the clock to `offsetMs` after the next tick of `wf`, and returns that tick. */
    const toNextTick = (wf: AnyWorkflow, offsetMs = 1000): number => {
      const tick = nextTick(wf.schedule!, clock().now()) as number
      clock().advance(tick + offsetMs - clock().now())
      return tick
    }
    const runKeys = async (): Promise<(string | null)[]> =>
      (await store().listRuns({ workflowId: 'nightly', limit: 100 })).runs.map((r) => r.idempotencyKey).sort()
    const fireAll = async (engines: Engine[]): Promise<number> =>
      (await Promise.all(engines.map((e) => e.fireSchedules()))).reduce((a, b) => a + b, 0)

    it('starts exactly one run per tick when three engines fire the same tick at once', async () => {
      const wf = scheduled()
      const engines = [engine([wf]), engine([wf]), engine([wf])]
      const tick = toNextTick(wf)
      expect(await fireAll(engines)).toBe(1)
      expect(await fireAll(engines)).toBe(0)
      expect(await runKeys()).toEqual([tickKey('nightly', tick)])
      const [run] = (await store().listRuns({ workflowId: 'nightly' })).runs
      expect(run).toMatchObject({ status: 'PENDING', input: { kind: 'sales' } })
      // The run is due at once: a sweep by any engine executes it.
      expect((await engines[1]!.resumeDue()).completed).toBe(1)
      expect(await store().getRun(run!.runId)).toMatchObject({ status: 'COMPLETED', output: { reported: 'sales' } })
      expect((await store().listScheduleStates()).map((s) => [s.workflowId, s.lastTickAt])).toEqual([['nightly', tick]])

      const second = toNextTick(wf)
      expect(await fireAll(engines)).toBe(1)
      expect(await runKeys()).toEqual([tickKey('nightly', tick), tickKey('nightly', second)].sort())
    })

    it('skips the ticks missed during a downtime by default, and fires the next one on time', async () => {
      const wf = scheduled()
      const tick = toNextTick(wf)
      expect(await engine([wf]).fireSchedules()).toBe(1)
      // Down for 17 minutes: the ticks at +5, +10 and +15 pass; the newest is 2 minutes old, past the grace window.
      clock().advance(17 * MINUTE)
      const restarted = engine([wf])
      expect(await restarted.fireSchedules()).toBe(0)
      const next = toNextTick(wf)
      expect(next).toBe(tick + 20 * MINUTE)
      expect(await restarted.fireSchedules()).toBe(1)
      expect(await runKeys()).toEqual([tickKey('nightly', tick), tickKey('nightly', next)].sort())
    })

    it('fires a tick up to the grace window late under skip', async () => {
      const wf = scheduled()
      const tick = toNextTick(wf, SCHEDULE_GRACE_MS)
      expect(await engine([wf]).fireSchedules()).toBe(1)
      expect(await runKeys()).toEqual([tickKey('nightly', tick)])
    })

    it('catches up only the last missed tick under catchUpLast, once', async () => {
      const wf = scheduled({ missed: 'catchUpLast' })
      const tick = toNextTick(wf)
      expect(await engine([wf]).fireSchedules()).toBe(1)
      clock().advance(17 * MINUTE)
      const engines = [engine([wf]), engine([wf])]
      expect(await fireAll(engines)).toBe(1)
      expect(await fireAll(engines)).toBe(0)
      expect(await runKeys()).toEqual([tickKey('nightly', tick), tickKey('nightly', tick + 15 * MINUTE)].sort())
    })

    it('does not catch up a tick from before a schedule first fired', async () => {
      const wf = scheduled({ missed: 'catchUpLast' })
      toNextTick(wf, 2 * MINUTE)
      expect(await engine([wf]).fireSchedules()).toBe(0)
      expect(await runKeys()).toEqual([])
    })

    it('stops firing while paused on any engine, and resumes from the next tick', async () => {
      const wf = scheduled({ missed: 'catchUpLast' })
      const [a, b] = [engine([wf]), engine([wf])]
      const first = toNextTick(wf)
      expect(await b.fireSchedules()).toBe(1)
      expect(await a.pauseSchedule('nightly')).toMatchObject({ paused: true, nextFireAt: null, lastFiredAt: first })
      expect((await b.listSchedules())[0]).toMatchObject({ workflowId: 'nightly', paused: true, nextFireAt: null })
      toNextTick(wf)
      expect(await b.fireSchedules()).toBe(0)
      clock().advance(11 * MINUTE)
      expect(await b.fireSchedules()).toBe(0)
      // Resumed: the ticks that passed while paused are dropped, even under catchUpLast.
      const resumed = await a.resumeSchedule('nightly')
      expect(resumed).toMatchObject({ paused: false, nextFireAt: nextTick(wf.schedule!, clock().now()) })
      expect(await b.fireSchedules()).toBe(0)
      const next = toNextTick(wf)
      expect(await b.fireSchedules()).toBe(1)
      expect(await runKeys()).toEqual([tickKey('nightly', first), tickKey('nightly', next)].sort())
    })

    it('refuses to pause a workflow without a schedule or an unknown one, changing nothing', async () => {
      const plain = workflow({ id: 'plain' }).then(defineStep({ id: 's', handler: () => 1 })).build()
      const e = engine([plain, scheduled()])
      await expect(e.pauseSchedule('plain')).rejects.toMatchObject({ code: 'SCHEDULE_NOT_FOUND' })
      await expect(e.resumeSchedule('nope')).rejects.toMatchObject({ code: 'WORKFLOW_NOT_FOUND' })
      expect(await store().listScheduleStates()).toEqual([])
    })

    it('spends a tick whose input the workflow refuses, starting nothing', async () => {
      const wf = scheduled({ input: { kind: 42 } })
      const e = engine([wf])
      const tick = toNextTick(wf)
      expect(await e.fireSchedules()).toBe(0)
      expect(await e.fireSchedules()).toBe(0)
      expect(await runKeys()).toEqual([])
      expect((await store().listScheduleStates())[0]?.lastTickAt).toBe(tick)
    })
  })
}
