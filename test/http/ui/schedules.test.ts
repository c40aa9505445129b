/**
 * The dashboard's view of schedules: the workflows page shows a schedule with its next fire time and a pause
 * button; pausing there stops the schedule (stored, so every engine sees it) and the button turns into resume.
 */
import { expect, it } from 'vitest'
import { defineStep } from '../../../src/core/step'
import { workflow } from '../../../src/core/workflow'
import { createUiHarness } from '../../support/ui-harness'

const ping = defineStep({ id: 'ping', handler: () => 'pong' })
const daily = workflow({ id: 'daily', schedule: { cron: '0 6 * * *', timezone: 'America/New_York', missed: 'catchUpLast' } })
  .then(ping)
  .build()
const plain = workflow({ id: 'plain' }).then(ping).build()

it('shows a schedule with its next fire time, and pauses and resumes it with CSRF-checked forms', async () => {
  const h = createUiHarness([daily, plain])
  const { cookie, csrf } = await h.signIn()
  const [view] = await h.engine.listSchedules()
  const page = await (await h.get('/ui/workflows', cookie)).text()
  expect(page).toContain('<code>0 6 * * *</code> (America/New_York)')
  expect(page).toContain('missed ticks: the last one caught up')
  expect(page).toContain(`datetime="${new Date(view!.nextFireAt as number).toISOString()}"`)
  expect(page).toContain('action="/ui/workflows/daily/schedule/pause"')
  expect(page).not.toContain('action="/ui/workflows/plain/schedule/')

  expect((await h.post('/ui/workflows/daily/schedule/pause', {}, cookie)).status).toBe(403)
  expect((await h.engine.listSchedules())[0]?.paused).toBe(false)
  const paused = await h.post('/ui/workflows/daily/schedule/pause', { _csrf: csrf }, cookie)
  expect(paused.status).toBe(303)
  expect(paused.headers.get('location')).toBe('/ui/workflows/daily')
  expect(await h.engine.store.listScheduleStates()).toMatchObject([{ workflowId: 'daily', paused: true }])
  const after = await (await h.get('/ui/workflows/daily', cookie)).text()
  expect(after).toContain('<span class="badge">paused</span>')
  expect(after).toContain('action="/ui/workflows/daily/schedule/resume"')

  const none = await h.post('/ui/workflows/plain/schedule/pause', { _csrf: csrf }, cookie)
  expect(none.status).toBe(404)
  const resumed = await h.post('/ui/workflows/daily/schedule/resume', { _csrf: csrf }, cookie)
  expect(resumed.status).toBe(303)
  expect((await h.engine.listSchedules())[0]).toMatchObject({ paused: false })
  await h.engine.shutdown()
})
