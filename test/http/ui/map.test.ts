/**
 * The dashboard's view of a map: the run page draws a 10,000-item map as one graph node with its item counts by
 * status, lists it as one step (never one entry per item), and shows the errors of failed items.
 */
import { expect, it } from 'vitest'
import { NonRetryableError } from '../../../src/core/errors'
import { defineStep } from '../../../src/core/step'
import { workflow } from '../../../src/core/workflow'
import { mapCountsText } from '../../../src/http/ui/run-page'
import { createUiHarness } from '../../support/ui-harness'

const list = defineStep({ id: 'list', handler: (_ctx, n: number) => Array.from({ length: n }, (_, i) => i) })
const resize = defineStep({
  id: 'resize',
  maxRetries: 0,
  handler: (_ctx, i: number) => {
    if (i % 1000 === 999) throw new NonRetryableError(`image ${i} is corrupt`)
    return i
  },
})
const images = workflow<number>({ id: 'images' }).then(list).map(resize, { concurrency: 50, continueOnError: true }).build()

it('draws a 10,000-item map as one node with its item counts, not 10,000 nodes', async () => {
  const h = createUiHarness([images])
  const { cookie } = await h.signIn()
  const run = await h.engine.run('images', 10_000)
  expect(run.status).toBe('COMPLETED')
  const page = await (await h.get(`/ui/runs/${run.runId}`, cookie)).text()
  const graph = page.slice(page.indexOf('<figure class="dag"'), page.indexOf('</figure>'))
  expect(graph.match(/data-step="/g)).toHaveLength(2)
  expect(graph).toContain('▦ resize ×10,000')
  expect(graph).toContain('9,990 ✓ 10 ✗')
  expect(page).not.toContain('resize[5]')
  expect(page).toContain('data-map-items="10000"')
  // Five of the ten failed items are shown with their errors; the rest are paged through the API.
  expect(page.match(/<h3>Item resize\[\d+\] failed<\/h3>/g)).toHaveLength(5)
  expect(page).toContain('image 999 is corrupt')
  await h.engine.shutdown()
})

it('words item counts by status, running and queued included', () => {
  expect(mapCountsText({ total: 10_000, notStarted: 0, byStatus: { COMPLETED: 9_950, RUNNING: 50 } })).toBe('9,950 ✓ 50 running')
  expect(mapCountsText({ total: 7, notStarted: 3, byStatus: { COMPLETED: 1, FAILED: 1, RETRYING: 2 } })).toBe('1 ✓ 1 ✗ 2 retrying 3 queued')
  expect(mapCountsText({ total: 0, notStarted: 0, byStatus: {} })).toBe('no items')
})
