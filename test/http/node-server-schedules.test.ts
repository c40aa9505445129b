/**
 * The Node entry fires schedules through its wake timer alone: with the poll set to an hour and no HTTP start, an
 * every-second schedule creates runs, one per tick, each executed to the end. Counts runs; never measures time.
 */
import { afterEach, expect, it, vi } from 'vitest'
import { silentLogger } from '../../src/core/logger'
import { defineStep } from '../../src/core/step'
import { workflow } from '../../src/core/workflow'
import { startNodeServer, type NodeServer } from '../../src/node'
import { tempDir, type TempDir } from '../support/libsql-harness'

let server: NodeServer | undefined
let dir: TempDir | undefined

afterEach(async () => {
  await server?.close()
  server = undefined
  dir?.dispose()
  dir = undefined
})

const tick = defineStep({ id: 'tick', handler: (_ctx, input: { from: string }) => ({ ticked: input.from }) })
const ticker = workflow<{ from: string }>({ id: 'ticker', schedule: { cron: '* * * * * *', input: { from: 'schedule' } } }).then(tick).build()

it('starts one run per tick of an every-second schedule through the wake timer, without any HTTP start', async () => {
  dir = tempDir('gorkflow-node-schedule-')
  server = await startNodeServer({
    port: 0,
    apiTokens: ['node-schedule-token'],
    databaseUrl: `file:${dir.file('gorkflow.db')}`,
    workflows: [ticker],
    logger: silentLogger,
    // The poll would sweep only after an hour: every run below comes from the timer armed for the next tick.
    sweepIntervalMs: 3_600_000,
  })
  const s = server
  const completed = async () => (await s.store.listRuns({ workflowId: 'ticker', status: 'COMPLETED', limit: 100 })).runs
  await vi.waitFor(async () => expect((await completed()).length).toBeGreaterThanOrEqual(3), { timeout: 60_000, interval: 50 })

  const runs = (await s.store.listRuns({ workflowId: 'ticker', limit: 100 })).runs
  const keys = runs.map((r) => r.idempotencyKey as string)
  expect(new Set(keys).size).toBe(runs.length)
  for (const key of keys) expect(key).toMatch(/^schedule:ticker:\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z$/)
  for (const run of await completed()) expect(run.output).toEqual({ ticked: 'schedule' })
  const [state] = await s.store.listScheduleStates()
  expect(state).toMatchObject({ workflowId: 'ticker', paused: false })
  expect(keys).toContain(`schedule:ticker:${new Date(state!.lastTickAt as number).toISOString()}`)
})
