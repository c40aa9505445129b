/**
 * Schedules over HTTP: `GET /v1/workflows` shows each schedule with its next fire time, `POST
 * /v1/workflows/:id/schedule/pause|resume` stops and restarts it for every engine on the store, and bad input is a
 * 4xx that changes nothing.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { defineStep } from '../../src/core/step'
import { nextTick } from '../../src/core/schedule'
import { workflow } from '../../src/core/workflow'
import { MemoryStore } from '../../src/store/memory/memory-store'
import { VirtualClock } from '../support/virtual-clock'
import { type ApiHarness, createHarness, json } from './harness'

const ping = defineStep({ id: 'ping', handler: () => 'pong' })
const hourly = workflow({ id: 'hourly', schedule: { cron: '0 * * * *', timezone: 'Europe/Berlin' } }).then(ping).build()
const plain = workflow({ id: 'plain' }).then(ping).build()

let store: MemoryStore
let clock: VirtualClock
let api: ApiHarness
let other: ApiHarness

beforeEach(() => {
  store = new MemoryStore()
  clock = new VirtualClock()
  api = createHarness(store, { engine: { workflows: [hourly, plain], clock } })
  other = createHarness(store, { engine: { workflows: [hourly, plain], clock } })
})
afterEach(async () => {
  for (const h of [api, other]) {
    await h.settle()
    await h.engine.shutdown()
  }
})

const scheduleOf = async (h: ApiHarness, id: string) => {
  const res = await h.call('GET', '/v1/workflows')
  expect(res.status).toBe(200)
  return (await json(res)).workflows.find((w: { id: string }) => w.id === id).schedule
}

describe('schedules over HTTP', () => {
  it('lists each workflow with its schedule and next fire time, null for unscheduled ones', async () => {
    const next = new Date(nextTick(hourly.schedule!, clock.now()) as number).toISOString()
    expect(await scheduleOf(api, 'hourly')).toEqual({
      cron: '0 * * * *',
      timezone: 'Europe/Berlin',
      missed: 'skip',
      paused: false,
      nextFireAt: next,
      lastFiredAt: null,
    })
    expect(await scheduleOf(api, 'plain')).toBeNull()
    const one = await json(await api.call('GET', '/v1/workflows/hourly'))
    expect(one.workflow.schedule).toMatchObject({ nextFireAt: next, paused: false })
  })

  it('pauses and resumes a schedule for every engine on the store', async () => {
    const paused = await api.call('POST', '/v1/workflows/hourly/schedule/pause')
    expect(paused.status).toBe(200)
    expect((await json(paused)).schedule).toMatchObject({ paused: true, nextFireAt: null })
    expect(await scheduleOf(other, 'hourly')).toMatchObject({ paused: true, nextFireAt: null })
    clock.advance((nextTick(hourly.schedule!, clock.now()) as number) - clock.now())
    expect(await other.engine.fireSchedules()).toBe(0)

    const resumed = await other.call('POST', '/v1/workflows/hourly/schedule/resume')
    expect(resumed.status).toBe(200)
    expect((await json(resumed)).schedule).toMatchObject({ paused: false, nextFireAt: new Date(clock.now() + 3_600_000).toISOString() })
    clock.advance(3_600_000)
    expect(await api.engine.fireSchedules()).toBe(1)
    expect(await scheduleOf(other, 'hourly')).toMatchObject({ lastFiredAt: new Date(clock.now()).toISOString() })
  })

  it('refuses bad input with a 4xx and changes nothing', async () => {
    const cases: [string, string, number, string][] = [
      ['POST', '/v1/workflows/plain/schedule/pause', 404, 'SCHEDULE_NOT_FOUND'],
      ['POST', '/v1/workflows/nope/schedule/resume', 404, 'WORKFLOW_NOT_FOUND'],
    ]
    for (const [method, path, status, code] of cases) {
      const res = await api.call(method, path)
      expect(res.status, path).toBe(status)
      expect((await json(res)).error.code, path).toBe(code)
    }
    for (const [method, path] of [
      ['GET', '/v1/workflows/hourly/schedule/pause'],
      ['POST', '/v1/workflows/hourly/schedule/stop'],
      ['POST', `/v1/workflows/${'x'.repeat(5000)}/schedule/pause`],
    ] as const) {
      const res = await api.call(method, path)
      expect(res.status, `${method} ${path.slice(0, 60)}`).toBeGreaterThanOrEqual(400)
      expect(res.status, `${method} ${path.slice(0, 60)}`).toBeLessThan(500)
    }
    const anonymous = await api.app.request('/v1/workflows/hourly/schedule/pause', { method: 'POST' })
    expect(anonymous.status).toBe(401)
    expect(await store.listScheduleStates()).toEqual([])
  })
})
