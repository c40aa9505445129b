import { describe, expect, it } from 'vitest'
import { FOLDED_ID_PREFIX, foldChains, foldGraph, MAX_CHAIN, MAX_FAN } from '../../../src/http/ui/dag-collapse'
import type { DagNodeView } from '../../../src/http/ui/dag-svg'
import type { DisplayStatus } from '../../../src/http/ui/status'
import { layoutDag } from '../../../src/http/ui/dag-layout'

const node = (id: string, status: DisplayStatus | null = 'COMPLETED'): DagNodeView => ({ id, label: id, status, href: `#step-${id}` })
const ids = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${i}`)
const links = (list: readonly string[]) => list.slice(1).map((id, i) => [list[i] as string, id] as const)

describe('foldChains', () => {
  it('leaves a chain of MAX_CHAIN nodes alone and folds a longer one into first, "… k steps", last', () => {
    const short = ids('s', MAX_CHAIN)
    expect(foldChains(short.map((id) => node(id)), links(short)).nodes).toHaveLength(MAX_CHAIN)

    const long = ids('s', 10_000)
    const graph = foldChains(long.map((id) => node(id)), links(long))
    expect(graph.nodes.map((n) => n.label)).toEqual(['s0', '… 9,998 steps', 's9999'])
    const folded = `${FOLDED_ID_PREFIX}s1`
    expect(graph.nodes[1]).toMatchObject({ id: folded, status: 'COMPLETED', href: '#step-s1' })
    expect(graph.edges).toEqual([['s0', folded], [folded, 's9999']])
  })

  it('shows the most telling status of the folded steps: a failure before anything running or done', () => {
    const long = ids('s', 40)
    const statuses = (failedAt: number | null): DisplayStatus[] =>
      long.map((_, i) => (i === failedAt ? 'FAILED' : i < 20 ? 'COMPLETED' : i === 20 ? 'RUNNING' : 'NOT_STARTED'))
    const fold = (list: DisplayStatus[]) => foldChains(long.map((id, i) => node(id, list[i] as DisplayStatus)), links(long)).nodes[1]?.status
    expect(fold(statuses(null))).toBe('RUNNING')
    expect(fold(statuses(7))).toBe('FAILED')
    expect(foldChains(long.map((id) => node(id, null)), links(long)).nodes[1]?.status).toBeNull()
  })

  it('folds each long branch of a diamond between its fork and its join, keeping the join', () => {
    const a = ids('a', 30)
    const b = ids('b', 3)
    const nodes = ['start', ...a, ...b, 'join'].map((id) => node(id))
    const edges = [['start', 'a0'], ['start', 'b0'], ...links(a), ...links(b), ['a29', 'join'], ['b2', 'join']] as const
    const graph = foldChains(nodes, edges)
    expect(graph.nodes.map((n) => n.label)).toEqual(['start', 'a0', '… 28 steps', 'a29', 'b0', 'b1', 'b2', 'join'])
    expect(graph.edges).toHaveLength(8)
    const layout = layoutDag(graph.nodes.map((n) => n.id), graph.edges)
    expect(layout.layers).toHaveLength(5)
  })

  it('folds a parallel block wider than MAX_FAN between its fork and join, and leaves a narrower one alone', () => {
    const fan = (width: number) => {
      const wide = ids('p', width)
      const nodes = ['start', ...wide, 'join'].map((id) => node(id, id === 'p3' ? 'FAILED' : 'COMPLETED'))
      const edges = [...wide.map((id) => ['start', id] as const), ...wide.map((id) => [id, 'join'] as const)]
      return foldGraph(nodes, edges)
    }
    expect(fan(MAX_FAN).nodes).toHaveLength(MAX_FAN + 2)
    const graph = fan(25_000)
    const folded = `${FOLDED_ID_PREFIX}p1`
    expect(graph.nodes.map((n) => n.label)).toEqual(['start', 'p0', '… 24,998 parallel steps', 'p24999', 'join'])
    expect(graph.nodes[2]).toMatchObject({ id: folded, status: 'FAILED', href: '#step-p1' })
    expect(graph.edges).toEqual([
      ['start', 'p0'],
      ['start', folded],
      ['start', 'p24999'],
      ['p0', 'join'],
      [folded, 'join'],
      ['p24999', 'join'],
    ])
  })
})
