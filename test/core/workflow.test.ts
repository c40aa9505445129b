import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { defineStep } from '../../src/core/step'
import { DEFAULT_MAP_CONCURRENCY, MAX_MAP_CONCURRENCY } from '../../src/core/map-items'
import { MAX_STEPS, validateGraph, workflow } from '../../src/core/workflow'

const step = <Id extends string>(id: Id) => defineStep({ id, handler: (_c, i: number) => i + 1 })

describe('workflow().build()', () => {
  it('rejects an empty workflow', () => {
    expect(() => workflow({ id: 'empty' }).build()).toThrow(expect.objectContaining({ code: 'INVALID_WORKFLOW', message: 'workflow empty: has no steps' }))
  })

  it('rejects duplicate step ids, naming them', () => {
    expect(() => workflow<number>({ id: 'dup' }).then(step('a')).then(step('b')).then(step('a')).build()).toThrow(
      'workflow dup: duplicate step ids: a',
    )
  })

  it('rejects cycles and unreachable steps in hand-assembled graphs, naming the steps', () => {
    expect(() => validateGraph('g', ['a', 'b', 'c'], [['a', 'b'], ['b', 'c'], ['c', 'b']])).toThrow('workflow g: cycle: b -> c -> b')
    expect(() => validateGraph('g', ['a', 'b'], [['a', 'a']])).toThrow('cycle: a -> a')
    expect(() => validateGraph('g', ['a', 'b', 'c'], [['a', 'b']], ['a'])).toThrow('steps unreachable from an entry step: c')
    expect(() => validateGraph('g', ['a'], [['a', 'x']])).toThrow('edge a -> x names an unknown step')
  })

  it('records edges for sequence, parallel and join, and finds entries and sinks', () => {
    const wf = workflow<number>({ id: 'shape' })
      .parallel([step('a'), step('b')])
      .then(defineStep({ id: 'j', handler: (_c, i: { a: number; b: number }) => i.a + i.b }))
      .then(step('k'))
      .build()
    expect(wf.edges).toEqual([['a', 'j'], ['b', 'j'], ['j', 'k']])
    expect(wf.entries).toEqual(['a', 'b'])
    expect(wf.sinks).toEqual(['k'])
    expect(wf.steps.find((s) => s.id === 'j')?.predecessors).toEqual(['a', 'b'])
    expect(Object.isFrozen(wf)).toBe(true)
  })

  it('returns a new builder from every call, so a shared prefix builds two workflows', () => {
    const prefix = workflow<number>({ id: 'p' }).then(step('a'))
    const one = prefix.then(step('b')).build()
    const two = prefix.then(step('c')).build()
    expect(one.steps.map((s) => s.id)).toEqual(['a', 'b'])
    expect(two.steps.map((s) => s.id)).toEqual(['a', 'c'])
  })

  it('branches from an earlier builder after a later one appended, and numbers sleeps per branch', () => {
    const prefix = workflow<number>({ id: 'p' }).then(step('a')).sleep(1)
    const long = prefix.then(step('b')).sleep(1).then(step('c'))
    const other = prefix.sleep(1, { id: 'sleep-3' }).sleep(1).then(step('d'))
    expect(long.build().steps.map((s) => s.id)).toEqual(['a', 'sleep-1', 'b', 'sleep-2', 'c'])
    expect(other.build().steps.map((s) => s.id)).toEqual(['a', 'sleep-1', 'sleep-3', 'sleep-2', 'd'])
    expect(prefix.build().steps.map((s) => s.id)).toEqual(['a', 'sleep-1'])
  })

  it('builds and validates a 25,000-step chain, deeper than the call stack', () => {
    let b = workflow<number>({ id: 'long' })
    for (let i = 0; i < 25_000; i++) b = b.then(step(`s${i}`))
    const wf = b.build()
    expect(wf.steps).toHaveLength(25_000)
    expect(wf.entries).toEqual(['s0'])
    expect(wf.sinks).toEqual(['s24999'])
    expect(wf.steps[12_345]?.predecessors).toEqual(['s12344'])
  })

  it(`refuses more than MAX_STEPS (${MAX_STEPS}) steps, saying how many`, () => {
    const ids = Array.from({ length: MAX_STEPS + 1 }, (_, i) => `s${i}`)
    expect(() => validateGraph('big', ids, [])).toThrow(
      expect.objectContaining({ code: 'INVALID_WORKFLOW', message: `workflow big: has ${MAX_STEPS + 1} steps; at most ${MAX_STEPS} are allowed` }),
    )
  })

  it('builds and validates a diamond of MAX_STEPS steps, 24,998 wide, and still reports a 25,000-step cycle', () => {
    const wide = Array.from({ length: MAX_STEPS - 2 }, (_, i) => step(`p${i}`))
    const wf = workflow<number>({ id: 'wide' })
      .then(step('start'))
      .parallel(wide as unknown as [ReturnType<typeof step>])
      .then(defineStep({ id: 'join', handler: (_c, i: Record<string, number>) => Object.keys(i).length }))
      .build()
    expect(wf.steps).toHaveLength(MAX_STEPS)
    expect(wf.edges).toHaveLength(2 * (MAX_STEPS - 2))
    expect(wf.steps.at(-1)?.predecessors).toHaveLength(MAX_STEPS - 2)
    const ids = Array.from({ length: 25_000 }, (_, i) => `n${i}`)
    const edges = ids.map((id, i) => [id, ids[(i + 1) % ids.length] as string] as const)
    expect(() => validateGraph('ring', ids, edges, ['n0'])).toThrow(/^workflow ring: cycle: n0 -> n1 -> .* -> n24999 -> n0$/)
  })

  it('validates workflow ids and options', () => {
    expect(() => workflow({ id: 'has space' })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }))
    expect(() => workflow({ id: 'w', config: { maxRetries: -1 } })).toThrow('workflow w: maxRetries must be an integer >= 0, got -1')
    expect(() => workflow({ id: 'w', config: { maxConcurrency: 0 } })).toThrow('maxConcurrency must be an integer >= 1')
    expect(() => defineStep({ id: 's', timeoutMs: 0, handler: () => 1 })).toThrow('step s: timeoutMs must be an integer >= 1, got 0')
    expect(() => defineStep({ id: '', handler: () => 1 })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }))
  })

  it('keeps the input schema, version and tags', () => {
    const input = z.object({ n: z.number() })
    const wf = workflow({ id: 'meta', input, version: '2.1', tags: { team: 'x' }, description: 'd' })
      .then(defineStep({ id: 's', input, handler: (_c, i) => i.n }))
      .build()
    expect(wf).toMatchObject({ id: 'meta', name: 'meta', version: '2.1', description: 'd', tags: { team: 'x' }, inputSchema: input })
  })

  it('builds a map node carrying its concurrency, item step and continue-on-error, fingerprinted as a map', () => {
    const item = defineStep({ id: 'item', maxRetries: 2, handler: (_c, n: number) => n })
    const list = defineStep({ id: 'list', handler: (_c, n: number) => [n] })
    const wf = workflow<number>({ id: 'm' }).then(list).map(item, { concurrency: 7, id: 'each', continueOnError: true }).build()
    const node = wf.steps[1]
    expect(node).toMatchObject({ id: 'each', map: { concurrency: 7 }, predecessors: ['list'] })
    expect(node?.step.config).toEqual({ maxRetries: 2, continueOnError: true })
    expect(item.config).toEqual({ maxRetries: 2 })
    expect(wf.steps[0]?.map).toBeNull()
    expect(workflow<number>({ id: 'm' }).then(list).map(item).build().steps[1]?.map).toEqual({ concurrency: DEFAULT_MAP_CONCURRENCY })
    const asStep = workflow<number>({ id: 'm' }).then(list).then(defineStep({ id: 'each', handler: (_c, n: number[]) => n })).build()
    expect(asStep.fingerprint).not.toBe(wf.fingerprint)
  })

  it('refuses a map concurrency outside 1..MAX_MAP_CONCURRENCY and step ids of a map item’s form', () => {
    const item = defineStep({ id: 'item', handler: (_c, n: number) => n })
    const list = workflow<number[]>({ id: 'm' })
    for (const concurrency of [0, 1.5, MAX_MAP_CONCURRENCY + 1]) {
      expect(() => list.map(item, { concurrency })).toThrow(`workflow m: map(item) concurrency must be an integer in 1..${MAX_MAP_CONCURRENCY}`)
    }
    expect(() => list.map(item).then(defineStep({ id: 'item[3]', handler: (_c, n: number[]) => n })).build()).toThrow(
      expect.objectContaining({ code: 'INVALID_WORKFLOW', message: expect.stringContaining('item[3]') }),
    )
    expect(() => list.map(item).then(defineStep({ id: 'other[3]', handler: (_c, n: number[]) => n })).build()).not.toThrow()
  })
})
