/**
 * @module
 * Versioned runs on any store: a run continues only on the definition it started on (version string and graph
 * fingerprint), is parked — untouched, once per recheck, logged once per sweep — where that definition is not
 * registered, and can be migrated to another version when its completed steps fit there.
 */
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import type { Logger, LogFields } from '../../src/core/logger'
import { defineStep } from '../../src/core/step'
import { workflow, type AnyWorkflow } from '../../src/core/workflow'
import { useEngineHarness, type EngineHarness } from '../support/engine-harness'

const DAY = 24 * 60 * 60 * 1000
const RECHECK = 60_000
const num = z.object({ n: z.number() })

/** A logger that keeps every event. */
function capturingLogger() {
  const events: { event: string; fields: LogFields }[] = []
  const logger: Logger = { level: 'debug', log: (_level, event, fields) => events.push({ event, fields }) }
  return { logger, named: (name: string) => events.filter((e) => e.event === name) }
}

/**
 * The example: v1 is `a → sleep(a day) → b`; v2 inserts `c` before `a`. Every handler records its calls
 * with the run id, so a test can tell which version's steps ran in which run.
 */
function versions() {
  const calls: string[] = []
  const step = (id: string, output: z.ZodType<{ n: number }> = num) =>
    defineStep({
      id,
      input: num,
      output,
      handler: async (ctx, { n }) => {
        calls.push(`${ctx.runId}:${id}`)
        if (id === 'a') await ctx.state.set('seen', n)
        return { n: n + 1 }
      },
    })
  const v1 = workflow({ id: 'deploy', version: '1', input: num }).then(step('a')).sleep(DAY).then(step('b')).build()
  const v2 = workflow({ id: 'deploy', version: '2', input: num }).then(step('c')).then(step('a')).sleep(DAY).then(step('b')).build()
  // The same version string as v1 over v2's graph: a forgotten version bump.
  const v1Changed = workflow({ id: 'deploy', version: '1', input: num }).then(step('c')).then(step('a')).sleep(DAY).then(step('b')).build()
  // Compatible with v1's completed `a`: same prefix, one step more at the end.
  const v3 = workflow({ id: 'deploy', version: '3', input: num }).then(step('a')).sleep(DAY).then(step('b')).then(step('d')).build()
  // `a` outputs something else here: its recorded output does not fit. (The cast only silences the builder's
  // chain typing; v4 never runs.)
  const v4 = workflow({ id: 'deploy', version: '4', input: num })
    .then(step('a', z.object({ label: z.string() }) as unknown as z.ZodType<{ n: number }>))
    .build()
  // No step `a` at all.
  const v5 = workflow({ id: 'deploy', version: '5', input: num }).then(step('e')).build()
  const ran = (runId: string) => calls.filter((c) => c.startsWith(`${runId}:`)).map((c) => c.slice(runId.length + 1))
  return { v1, v2, v1Changed, v3, v4, v5, calls, ran }
}

export function runVersionCases(name: string, setup: () => Promise<EngineHarness>): void {
  describe(`Versioned runs on ${name}`, () => {
    const { store, clock, engine } = useEngineHarness(setup, { versionRecheckMs: RECHECK })

    /** A v1 run that completed `a` and sleeps, released by its engine (the process "stopped during the sleep"). */
    async function sleepingV1Run(v1: AnyWorkflow): Promise<string> {
      const first = engine([v1])
      const run = await first.run('deploy', { n: 1 })
      expect(run).toMatchObject({ status: 'RUNNING', workflowVersion: '1', workflowFingerprint: v1.fingerprint, leaseOwner: null })
      await first.shutdown()
      clock().advance(DAY)
      return run.runId
    }

    it('never runs v2 steps in a v1 run when only v2 is deployed: parks it once, logs once per sweep, and a v1 engine finishes it', async () => {
      const { v1, v2, ran } = versions()
      expect(v1.fingerprint).toMatch(/^[0-9a-f]{16}$/)
      expect(v2.fingerprint).not.toBe(v1.fingerprint)
      const runId = await sleepingV1Run(v1)
      const { logger, named } = capturingLogger()
      const yields: string[] = []
      const onlyV2 = engine([v2], { logger, onYield: (id) => yields.push(id) })

      expect(await onlyV2.resumeDue()).toMatchObject({ claimed: 0, completed: 0, parked: 1 })
      const until = clock().now() + RECHECK
      const parked = await store().getRun(runId)
      expect(parked).toMatchObject({
        status: 'RUNNING',
        leaseOwner: null,
        wakeAt: until,
        workflowVersion: '1',
        waitingFor: { kind: 'version', version: '1', fingerprint: v1.fingerprint, sameVersionOtherGraph: false, until },
      })
      expect(ran(runId)).toEqual(['a'])
      expect((await store().listStepExecutions(runId)).map((s) => [s.stepId, s.status, s.attempt])).toEqual([
        ['a', 'COMPLETED', 0],
        ['sleep-1', 'RUNNING', 0],
      ])
      expect(yields).toEqual([])
      expect(named('runs_waiting_for_version')).toHaveLength(1)
      expect(named('runs_waiting_for_version')[0]?.fields).toMatchObject({ runs: 1 })
      expect(String(named('runs_waiting_for_version')[0]?.fields.versions)).toContain(`deploy@1#${v1.fingerprint} (1)`)

      // Not due again before the recheck: no sweep claims it meanwhile, so nothing spins on it.
      expect(await store().listDueRuns(clock().now(), 10)).toEqual([])
      expect(await onlyV2.resumeDue()).toMatchObject({ claimed: 0, parked: 0 })
      expect(named('runs_waiting_for_version')).toHaveLength(1)

      clock().advance(RECHECK)
      const both = engine([v1, v2])
      expect(await both.resumeDue()).toMatchObject({ claimed: 1, completed: 1, parked: 0 })
      expect(await store().getRun(runId)).toMatchObject({ status: 'COMPLETED', output: { n: 3 }, waitingFor: null, workflowVersion: '1' })
      expect(ran(runId)).toEqual(['a', 'b'])
    })

    it('parks every run of an unregistered version in one sweep with a single log line', async () => {
      const { v1, v2, ran } = versions()
      const first = engine([v1])
      const ids = []
      for (let i = 0; i < 3; i++) ids.push((await first.run('deploy', { n: i })).runId)
      await first.shutdown()
      clock().advance(DAY)
      const { logger, named } = capturingLogger()
      expect(await engine([v2], { logger }).resumeDue()).toMatchObject({ claimed: 0, parked: 3 })
      expect(named('runs_waiting_for_version')).toHaveLength(1)
      expect(named('runs_waiting_for_version')[0]?.fields).toMatchObject({ runs: 3 })
      expect(String(named('runs_waiting_for_version')[0]?.fields.versions)).toContain('(3)')
      for (const id of ids) expect(ran(id)).toEqual(['a'])
    })

    it('finishes a v1 run on v1 when v1 and v2 are deployed, and starts new runs on v2 unless told otherwise', async () => {
      const { v1, v2, ran } = versions()
      const runId = await sleepingV1Run(v1)
      const both = engine([v1, v2])
      expect(await both.resumeDue()).toMatchObject({ claimed: 1, completed: 1, parked: 0 })
      expect(await store().getRun(runId)).toMatchObject({ status: 'COMPLETED', workflowVersion: '1', workflowFingerprint: v1.fingerprint })
      expect(ran(runId)).toEqual(['a', 'b'])

      const fresh = await both.run('deploy', { n: 10 })
      expect(fresh).toMatchObject({ workflowVersion: '2', workflowFingerprint: v2.fingerprint })
      expect(ran(fresh.runId)).toEqual(['c', 'a'])
      const pinned = await both.run('deploy', { n: 10 }, { version: '1' })
      expect(pinned).toMatchObject({ workflowVersion: '1', workflowFingerprint: v1.fingerprint })
      expect(ran(pinned.runId)).toEqual(['a'])
      await expect(both.start('deploy', { n: 1 }, { version: '9' })).rejects.toMatchObject({ code: 'WORKFLOW_VERSION_NOT_FOUND' })
      expect(both.listWorkflows().map((wf) => wf.version)).toEqual(['2'])
      expect(both.listWorkflowVersions('deploy').map((wf) => wf.version)).toEqual(['1', '2'])
    })

    it('does not continue a run whose version string is unchanged but whose graph changed, and says it looks like a forgotten bump', async () => {
      const { v1, v1Changed, ran } = versions()
      expect(v1Changed.fingerprint).not.toBe(v1.fingerprint)
      const runId = await sleepingV1Run(v1)
      const { logger, named } = capturingLogger()
      const changed = engine([v1Changed], { logger })
      expect(await changed.execute(runId)).toMatchObject({
        status: 'RUNNING',
        waitingFor: { kind: 'version', version: '1', fingerprint: v1.fingerprint, sameVersionOtherGraph: true },
      })
      expect(ran(runId)).toEqual(['a'])
      expect(named('runs_waiting_for_version')).toHaveLength(1)
      expect(String(named('runs_waiting_for_version')[0]?.fields.hint)).toContain('forgotten version bump')
      const inventory = await changed.versionInventory('deploy')
      expect(inventory.workflows[0]?.versions).toEqual([
        { version: '1', fingerprint: v1Changed.fingerprint, registered: true, current: true, inFlight: 0, orphanRunIds: [] },
        { version: '1', fingerprint: v1.fingerprint, registered: false, current: false, inFlight: 1, orphanRunIds: [runId] },
      ])
    })

    it('migrates a run to a version its completed steps fit: reuses their outputs and state, and cancels the old run', async () => {
      const { v1, v3, ran } = versions()
      const runId = await sleepingV1Run(v1)
      const e = engine([v3])
      const moved = await e.migrate(runId, { version: '3' })
      expect(moved).toMatchObject({ workflowVersion: '3', workflowFingerprint: v3.fingerprint, retryOf: runId })
      expect(await store().getRun(runId)).toMatchObject({ status: 'CANCELLED', retriedBy: moved.runId })
      expect(await store().getAllState(moved.runId)).toEqual({ seen: 1 })

      const yielded = await e.execute(moved.runId)
      expect(yielded.waitingFor).toMatchObject({ kind: 'sleep', stepId: 'sleep-1' })
      clock().advance(DAY)
      await e.resumeDue()
      expect(await store().getRun(moved.runId)).toMatchObject({ status: 'COMPLETED', output: { n: 4 } })
      expect(ran(moved.runId)).toEqual(['b', 'd'])
      expect(ran(runId)).toEqual(['a'])
      await expect(e.migrate(runId, { version: '3' })).rejects.toMatchObject({ code: 'RUN_STATE_CONFLICT' })
    })

    it('refuses a migration that does not fit, listing every mismatch, and changes nothing', async () => {
      const { v1, v2, v4, v5 } = versions()
      const runId = await sleepingV1Run(v1)
      const e = engine([v1, v2, v4, v5])
      const before = await store().getRun(runId)
      await expect(e.migrate(runId, { version: '2' })).rejects.toMatchObject({
        code: 'MIGRATION_REFUSED',
        details: { mismatches: [{ stepId: 'a', problem: expect.stringContaining('comes after c') }] },
      })
      await expect(e.migrate(runId, { version: '4' })).rejects.toMatchObject({
        code: 'MIGRATION_REFUSED',
        details: { mismatches: [{ stepId: 'a', problem: expect.stringContaining('recorded output') }] },
      })
      await expect(e.migrate(runId, { version: '5' })).rejects.toMatchObject({
        code: 'MIGRATION_REFUSED',
        details: { mismatches: [{ stepId: 'a', problem: expect.stringContaining('no such step') }] },
      })
      await expect(e.migrate(runId, { version: '1' })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' })
      await expect(e.migrate(runId, { version: '7' })).rejects.toMatchObject({ code: 'WORKFLOW_VERSION_NOT_FOUND' })
      expect(await store().getRun(runId)).toEqual(before)
    })

    it('refuses to register one version of a workflow twice', () => {
      const { v1, v1Changed } = versions()
      expect(() => engine([v1, v1Changed])).toThrow(/version 1 is registered twice/)
    })
  })
}
