/**
 * The dashboard's view of child workflows: a parent's run page lists its child runs with links and statuses and
 * says it waits for one; the child's page links back to its parent; the graph marks the child node.
 */
import { expect, it } from 'vitest'
import { z } from 'zod'
import { defineStep } from '../../../src/core/step'
import { workflow } from '../../../src/core/workflow'
import { createUiHarness } from '../../support/ui-harness'

const num = z.object({ n: z.number() })
const child = workflow({ id: 'child', input: num }).then(defineStep({ id: 'double', input: num, handler: (_c, { n }) => ({ n: n * 2 }) })).build()
const parent = workflow({ id: 'parent', input: num }).child(child, { id: 'sub' }).build()

it('links a parent to its child runs and a child to its parent', async () => {
  const h = createUiHarness([parent, child])
  const { cookie } = await h.signIn()
  const run = await h.engine.run('parent', { n: 1 })
  expect(run.waitingFor?.kind).toBe('child')
  const childId = run.waitingFor?.kind === 'child' ? run.waitingFor.runId : ''

  const page = await (await h.get(`/ui/runs/${run.runId}`, cookie)).text()
  expect(page).toContain('<dt>Child runs</dt>')
  expect(page).toContain(`href="/ui/runs/${childId}"`)
  expect(page).toContain(`Waiting for child run ${childId} (child) at step sub`)
  expect(page).toContain('↳ sub')

  const childPage = await (await h.get(`/ui/runs/${childId}`, cookie)).text()
  expect(childPage).toContain('<dt>Parent run</dt>')
  expect(childPage).toContain(`href="/ui/runs/${run.runId}"`)
  expect(childPage).not.toContain('<dt>Child runs</dt>')
  await h.engine.shutdown()
})
