import { describe, expect, it } from 'vitest'
import { childRunId } from '../../src/core/child-run'
import { Engine } from '../../src/core/engine'
import { defineStep } from '../../src/core/step'
import { workflow } from '../../src/core/workflow'
import { MemoryStore } from '../../src/store/memory/memory-store'
import { VirtualClock } from '../support/virtual-clock'
import { runChildCases } from './children.cases'

runChildCases('MemoryStore', async () => ({ store: new MemoryStore() }))

describe('Engine with child workflows', () => {
  it('refuses a parent whose child workflow is not registered, naming both', () => {
    const child = workflow<number>({ id: 'child' }).then(defineStep({ id: 'one', handler: (_ctx, n: number) => n })).build()
    const parent = workflow<number>({ id: 'parent' }).child(child).build()
    expect(() => new Engine({ store: new MemoryStore(), workflows: [parent] })).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/parent.*child/) }),
    )
    expect(() => new Engine({ store: new MemoryStore(), workflows: [parent, child] })).not.toThrow()
  })

  it('hands the new child, and then its woken parent, to the scheduler through onYield', async () => {
    const child = workflow<number>({ id: 'child' }).then(defineStep({ id: 'one', handler: (_ctx, n: number) => n + 1 })).build()
    const parent = workflow<number>({ id: 'parent' }).child(child).build()
    const yielded: string[] = []
    const engine = new Engine({ store: new MemoryStore(), clock: new VirtualClock(), workflows: [parent, child], onYield: (id) => yielded.push(id) })
    const run = await engine.run('parent', 1)
    const childId = childRunId(run.runId, 'child')
    expect(yielded).toEqual([childId, run.runId])
    yielded.length = 0
    // What a scheduler does with each id it is handed: execute it.
    expect(await engine.execute(childId)).toMatchObject({ status: 'COMPLETED', output: 2 })
    expect(yielded).toEqual([run.runId])
    expect(await engine.execute(run.runId)).toMatchObject({ status: 'COMPLETED', output: 2 })
    await engine.shutdown()
  })
})
