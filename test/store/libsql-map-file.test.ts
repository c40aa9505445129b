// A map over 10,000 items on an embedded LibSQL file (issue #17 part 2's scale goal), bounded by store calls, not time.
import { describe, expect, it } from 'vitest'
import { defineStep } from '../../src/core/step'
import { workflow } from '../../src/core/workflow'
import { countingStore } from '../support/counting-store'
import { useEngineHarness } from '../support/engine-harness'
import { fileStoreHarness } from '../support/libsql-harness'

describe('map over 10,000 items on LibSQLStore (file:)', () => {
  const h = useEngineHarness(fileStoreHarness)

  it('completes with concurrency 50 in at most one commit per item, never more than 50 items at once', async () => {
    const n = 10_000
    let active = 0
    let most = 0
    const list = defineStep({ id: 'list', handler: (_ctx, count: number) => Array.from({ length: count }, (_, i) => i) })
    const item = defineStep({
      id: 'item',
      handler: async (_ctx, i: number) => {
        most = Math.max(most, ++active)
        await Promise.resolve()
        active--
        return i * 2
      },
    })
    const wf = workflow<number>({ id: 'map-10k' }).then(list).map(item, { concurrency: 50 }).build()
    const counting = countingStore(h.store())
    const run = await h.engine([wf], { store: counting.store }).run(wf.id, n)
    expect(run.status).toBe('COMPLETED')
    const output = run.output as number[]
    expect(output).toHaveLength(n)
    expect(output.every((x, i) => x === i * 2)).toBe(true)
    expect(most).toBeLessThanOrEqual(50)
    // The create, then one commit per batch of items that ended together (50 here, as their handlers never wait on
    // I/O), with room for batches cut in two: never one commit per item, let alone a rewrite of every item.
    expect(counting.calls.createRun).toBe(1)
    expect(counting.calls.commit).toBeLessThanOrEqual(2 * (n / 50) + 3)
    expect(counting.total()).toBe((counting.calls.createRun ?? 0) + (counting.calls.commit ?? 0))
    const steps = await h.store().listStepExecutions(run.runId)
    expect(steps).toHaveLength(n + 2)
    expect(steps.filter((s) => s.status === 'COMPLETED')).toHaveLength(n + 2)
  })
})
