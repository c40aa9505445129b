import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { graphFingerprint } from '../../src/core/fingerprint'
import { defineStep } from '../../src/core/step'
import { workflow } from '../../src/core/workflow'

const step = (id: string, handler = (_ctx: unknown, i: unknown) => i) => defineStep({ id, handler })
const base = () => workflow({ id: 'f' }).then(step('a')).sleep(1000).then(step('b'))

describe('graphFingerprint', () => {
  it('is a fixed 16-hex-digit value for a given graph, whatever the node and edge order', () => {
    const nodes = [
      { id: 'a', kind: 'step', event: null },
      { id: 'b', kind: 'event', event: 'go' },
    ] as const
    const fp = graphFingerprint(nodes, [['a', 'b']])
    expect(fp).toMatch(/^[0-9a-f]{16}$/)
    expect(graphFingerprint([...nodes].reverse(), [['a', 'b']])).toBe(fp)
    // Pinned: a change of the hash would strand every run in flight, so it must fail here first.
    expect(fp).toBe('b3b90a3aecbba7d1')
  })

  it('ignores handlers, schemas, options and the sleep duration, and sees ids, kinds, events and edges', () => {
    const fp = base().build().fingerprint
    const otherCode = workflow({ id: 'f', version: '9', input: z.object({ x: z.number() }) })
      .then(defineStep({ id: 'a', maxRetries: 9, input: z.object({ x: z.number() }), handler: () => 1 }))
      .sleep(5000)
      .then(step('b', () => 2))
      .build()
    expect(otherCode.fingerprint).toBe(fp)
    expect(workflow({ id: 'f' }).then(step('a')).sleep(1000).then(step('c')).build().fingerprint).not.toBe(fp)
    expect(workflow({ id: 'f' }).then(step('a')).then(step('sleep-1')).then(step('b')).build().fingerprint).not.toBe(fp)
    expect(workflow({ id: 'f' }).then(step('a')).waitForEvent('x', { schema: z.any(), id: 'sleep-1' }).then(step('b')).build().fingerprint).not.toBe(fp)
    expect(workflow({ id: 'f' }).then(step('a')).sleep(1000).thenIf(step('b'), () => true).build().fingerprint).not.toBe(fp)
    expect(workflow({ id: 'f' }).parallel([step('a'), step('sleep-1')]).then(step('b')).build().fingerprint).not.toBe(fp)
    const evented = (name: string) => workflow({ id: 'f' }).waitForEvent(name, { schema: z.any(), id: 'w' }).build().fingerprint
    expect(evented('go')).not.toBe(evented('stop'))
  })

  it('refuses a version string that is empty, too long or has other characters', () => {
    for (const version of ['', ' 1', '1 0', 'x'.repeat(65), '../1', '1/2']) {
      expect(() => workflow({ id: 'f', version }), version).toThrow(/version must be 1-64/)
    }
    for (const version of ['1', '2.0.1', '2026-05-01', '1.0.0-beta.2+build_7']) expect(() => workflow({ id: 'f', version })).not.toThrow()
  })
})
