import { describe, expect, it } from 'vitest'
import { Engine } from '../../src/core/engine'
import { defineStep } from '../../src/core/step'
import { workflow } from '../../src/core/workflow'
import { MemoryStore } from '../../src/store/memory/memory-store'
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
})
