/**
 * The dashboard's view of versions: the workflows page lists each version with its in-flight runs and warns about
 * runs of versions not registered here; a run waiting for its version carries a badge, and the run page moves a
 * run to another version or shows why it cannot.
 */
import { expect, it } from 'vitest'
import { twoVersions } from '../../support/version-workflows'
import { makeRun } from '../../support/fixtures'
import { createUiHarness, eventually } from '../../support/ui-harness'

it('shows versions and orphaned runs, badges a run waiting for its version, and migrates it or lists why not', async () => {
  const { v1, v2 } = twoVersions('deploy')
  const h = createUiHarness([v1, v2])
  const { cookie, csrf } = await h.signIn()
  // A run of a version this deployment no longer has, as an older deployment left it; executing it here parks it.
  const now = Date.now()
  const orphan = makeRun({ workflowId: 'deploy', workflowVersion: '0', workflowFingerprint: '00000000000000aa', input: { n: 1 }, createdAt: now, updatedAt: now })
  await h.engine.store.createRun(orphan)
  expect((await h.engine.execute(orphan.runId)).waitingFor).toMatchObject({ kind: 'version', version: '0' })
  const onV1 = await h.engine.run('deploy', { n: 1 }, { version: '1' })

  const workflows = await (await h.get('/ui/workflows', cookie)).text()
  expect(workflows).toContain('1 in-flight run of versions not registered here')
  expect(workflows).toContain(`href="/ui/runs/${orphan.runId}"`)
  expect(workflows).toContain('Versions and their in-flight runs')
  expect(workflows).toContain('registered, current (new runs start here)')
  expect(workflows).toContain(v1.fingerprint)

  const page = await (await h.get(`/ui/runs/${orphan.runId}`, cookie)).text()
  expect(page).toContain('<span class="badge version-wait">waiting for version 0</span>')
  expect(page).toContain('Keep it deployed until its runs drain, or migrate or cancel the run')
  expect(page).toContain(`action="/ui/runs/${orphan.runId}/migrate"`)
  expect(page).toContain('graph <span class="mono">00000000000000aa</span>')

  const refused = await h.post(`/ui/runs/${onV1.runId}/migrate`, { _csrf: csrf, version: '2' }, cookie)
  expect(refused.status).toBe(409)
  const refusal = await refused.text()
  expect(refusal).toContain('This run cannot move to version 2; nothing changed:')
  expect(refusal).toContain('<strong>step a: </strong>in version 2 it comes after c, which did not complete in this run')
  expect((await h.post(`/ui/runs/${orphan.runId}/migrate`, { version: '2' }, cookie)).status).toBe(403)
  const unknown = await h.post(`/ui/runs/${orphan.runId}/migrate`, { _csrf: csrf, version: '9' }, cookie)
  expect(unknown.headers.get('location')).toBe(`/ui/runs/${orphan.runId}?notice=unknown-version`)
  expect(await h.engine.getRun(orphan.runId)).toMatchObject({ status: 'PENDING', retriedBy: null })

  const moved = await h.post(`/ui/runs/${orphan.runId}/migrate`, { _csrf: csrf, version: '2' }, cookie)
  expect(moved.status).toBe(303)
  const location = moved.headers.get('location') ?? ''
  expect(location).toMatch(/^\/ui\/runs\/[^/?]+\?notice=migrated$/)
  const newId = decodeURIComponent(location.split('/')[3]?.split('?')[0] ?? '')
  expect(await h.engine.getRun(orphan.runId)).toMatchObject({ status: 'CANCELLED', retriedBy: newId })
  const waiting = await eventually(async () => {
    const r = await h.engine.getRun(newId)
    return r.waitingFor?.kind === 'event' ? r : undefined
  })
  expect(waiting).toMatchObject({ workflowVersion: '2', retryOf: orphan.runId })
  await h.engine.shutdown()
})
