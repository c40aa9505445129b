import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { Engine } from '../../src/core/engine'
import { defineStep } from '../../src/core/step'
import { workflow } from '../../src/core/workflow'
import { VirtualClock } from '../support/virtual-clock'
import { MemoryStore } from '../../src/store/memory/memory-store'
import { runMapCases } from './map.cases'

runMapCases('MemoryStore', async () => ({ store: new MemoryStore() }))

describe('map across versions', () => {
  it('migrates a failed run with a map to the next version, reusing the completed items', async () => {
    const store = new MemoryStore()
    const calls: number[] = []
    const list = defineStep({ id: 'list', handler: (_ctx, n: number) => Array.from({ length: n }, (_, i) => i) })
    const item = (fails: boolean) =>
      defineStep({
        id: 'item',
        maxRetries: 0,
        input: z.number(),
        output: z.number(),
        handler: (_ctx, n) => {
          calls.push(n)
          if (fails && n === 2) throw new Error('v1 cannot do two')
          return n * 3
        },
      })
    const v1 = workflow<number>({ id: 'mapped', version: '1' }).then(list).map(item(true), { concurrency: 1 }).build()
    const v2 = workflow<number>({ id: 'mapped', version: '2' }).then(list).map(item(false), { concurrency: 1 }).build()
    const engine = new Engine({ store, clock: new VirtualClock(), workflows: [v1, v2] })
    const failed = await engine.run('mapped', 4, { version: '1' })
    expect(failed).toMatchObject({ status: 'FAILED', error: { step: 'item' } })
    calls.length = 0
    const moved = await engine.execute((await engine.migrate(failed.runId, { version: '2' })).runId)
    expect(moved).toMatchObject({ status: 'COMPLETED', workflowVersion: '2', output: [0, 3, 6, 9] })
    expect(calls).toEqual([2, 3])
    await engine.shutdown()
  })
})
