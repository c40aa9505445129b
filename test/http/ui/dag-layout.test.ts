import { describe, expect, it } from 'vitest'
import { countCrossings, layoutDag, type DagLayout, type LaidOutNode } from '../../../src/http/ui/dag-layout'

const node = (layout: DagLayout, id: string): LaidOutNode => {
  const found = layout.nodes.find((n) => n.id === id)
  if (!found) throw new Error(`no node ${id}`)
  return found
}

function expectNoOverlaps(layout: DagLayout): void {
  for (const a of layout.nodes) {
    expect(a.x).toBeGreaterThanOrEqual(0)
    expect(a.y).toBeGreaterThanOrEqual(0)
    expect(a.x + a.width).toBeLessThanOrEqual(layout.width)
    expect(a.y + a.height).toBeLessThanOrEqual(layout.height)
    for (const b of layout.nodes) {
      if (a === b) continue
      const apart = a.x + a.width <= b.x || b.x + b.width <= a.x || a.y + a.height <= b.y || b.y + b.height <= a.y
      expect(apart, `${a.id} overlaps ${b.id}`).toBe(true)
    }
  }
}

describe('layoutDag', () => {
  it('puts a fan-out and its join in three layers with the parallel steps side by side', () => {
    const layout = layoutDag(
      ['start', 'add', 'multiply', 'format'],
      [
        ['start', 'add'],
        ['start', 'multiply'],
        ['add', 'format'],
        ['multiply', 'format'],
      ],
    )
    expect(layout.layers).toEqual([['start'], ['add', 'multiply'], ['format']])
    expect(node(layout, 'add').y).toBe(node(layout, 'multiply').y)
    expect(node(layout, 'add').x).toBeLessThan(node(layout, 'multiply').x)
    // The entry and the join sit centred over the two parallel steps.
    const centre = (n: LaidOutNode) => n.x + n.width / 2
    const middle = (centre(node(layout, 'add')) + centre(node(layout, 'multiply'))) / 2
    expect(centre(node(layout, 'start'))).toBeCloseTo(middle, 0)
    expect(centre(node(layout, 'format'))).toBeCloseTo(middle, 0)
    expect(countCrossings(layout)).toBe(0)
    expectNoOverlaps(layout)
  })

  it('layers by the longest path, so a shortcut edge never points upwards', () => {
    const layout = layoutDag(
      ['a', 'b', 'c'],
      [
        ['a', 'b'],
        ['b', 'c'],
        ['a', 'c'],
      ],
    )
    expect(layout.nodes.map((n) => [n.id, n.layer])).toEqual([
      ['a', 0],
      ['b', 1],
      ['c', 2],
    ])
    for (const edge of layout.edges) {
      const ys = edge.points.map((p) => p.y)
      expect(ys).toEqual([...ys].sort((x, y) => x - y))
    }
  })

  it('routes an edge spanning two layers through the middle layer beside the node there', () => {
    const layout = layoutDag(
      ['a', 'b', 'c'],
      [
        ['a', 'b'],
        ['b', 'c'],
        ['a', 'c'],
      ],
    )
    const long = layout.edges.find((e) => e.from === 'a' && e.to === 'c')
    const b = node(layout, 'b')
    expect(long?.points).toHaveLength(4)
    const [, enter, leave] = long?.points ?? []
    expect(enter?.y).toBe(b.y)
    expect(leave?.y).toBe(b.y + b.height)
    // The virtual node keeps a gap from b, so the edge does not cross the node's box.
    expect(enter?.x === undefined || enter.x < b.x || enter.x > b.x + b.width).toBe(true)
  })

  it('starts each edge at the bottom centre of its source and ends it at the top centre of its target', () => {
    const layout = layoutDag(['a', 'b'], [['a', 'b']])
    const a = node(layout, 'a')
    const b = node(layout, 'b')
    expect(layout.edges[0]?.points).toEqual([
      { x: a.x + a.width / 2, y: a.y + a.height },
      { x: b.x + b.width / 2, y: b.y },
    ])
  })

  it('untangles edges that the insertion order would cross', () => {
    // Insertion order puts y left of x although a (left) feeds x and b (right) feeds y.
    const layout = layoutDag(
      ['a', 'b', 'y', 'x'],
      [
        ['a', 'x'],
        ['b', 'y'],
      ],
    )
    expect(layout.layers).toEqual([
      ['a', 'b'],
      ['x', 'y'],
    ])
    expect(countCrossings(layout)).toBe(0)
  })

  it('keeps a long chain in one straight column', () => {
    const ids = Array.from({ length: 20 }, (_, i) => `s${i}`)
    const layout = layoutDag(
      ids,
      ids.slice(1).map((id, i) => [ids[i] as string, id] as const),
    )
    expect(new Set(layout.nodes.map((n) => n.x)).size).toBe(1)
    expect(layout.layers).toHaveLength(20)
    expect(layout.nodes.map((n) => n.layer)).toEqual(ids.map((_, i) => i))
    expectNoOverlaps(layout)
  })

  it('lays out a wide, crossing-prone graph without overlaps', () => {
    const ids = ['r', 'a', 'b', 'c', 'd', 'e', 'f', 'z']
    const edges = [
      ['r', 'a'],
      ['r', 'b'],
      ['r', 'c'],
      ['a', 'f'],
      ['c', 'd'],
      ['b', 'e'],
      ['a', 'e'],
      ['d', 'z'],
      ['e', 'z'],
      ['f', 'z'],
      ['r', 'z'],
    ] as const
    const layout = layoutDag(ids, edges)
    expectNoOverlaps(layout)
    expect(layout.edges).toHaveLength(edges.length)
    expect(countCrossings(layout)).toBeLessThanOrEqual(1)
  })

  it('gives the same layout for the same graph every time', () => {
    const edges = [
      ['a', 'b'],
      ['a', 'c'],
      ['b', 'd'],
      ['c', 'd'],
    ] as const
    expect(layoutDag(['a', 'b', 'c', 'd'], edges)).toEqual(layoutDag(['a', 'b', 'c', 'd'], edges))
  })

  it('places several entries in the first layer', () => {
    const layout = layoutDag(
      ['a', 'b', 'c'],
      [
        ['a', 'c'],
        ['b', 'c'],
      ],
    )
    expect(layout.layers[0]).toEqual(['a', 'b'])
  })

  it('ignores a repeated edge', () => {
    const layout = layoutDag(
      ['a', 'b'],
      [
        ['a', 'b'],
        ['a', 'b'],
      ],
    )
    expect(layout.edges).toHaveLength(1)
  })

  it('honours the geometry options', () => {
    const layout = layoutDag(['a', 'b'], [['a', 'b']], { nodeWidth: 100, nodeHeight: 30, layerGap: 10, padding: 5 })
    expect(node(layout, 'a')).toMatchObject({ x: 5, y: 5, width: 100, height: 30 })
    expect(node(layout, 'b').y).toBe(45)
    expect(layout).toMatchObject({ width: 110, height: 80 })
  })

  it('returns an empty drawing for an empty graph', () => {
    expect(layoutDag([], [])).toMatchObject({ nodes: [], edges: [], layers: [] })
  })

  it('refuses an edge to an unknown node and a cycle, naming them', () => {
    expect(() => layoutDag(['a'], [['a', 'b']])).toThrow('edge a -> b names an unknown node')
    expect(() =>
      layoutDag(
        ['a', 'b', 'c'],
        [
          ['a', 'b'],
          ['b', 'c'],
          ['c', 'b'],
        ],
      ),
    ).toThrow('cycle through b, c')
  })
})

describe('layoutDag on wide and long graphs', () => {
  it('lays out a step fanning out to 5,000 and back, and a 25,000-step chain, without recursion', () => {
    const ids = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${i}`)
    const links = (list: readonly string[]) => list.slice(1).map((id, i) => [list[i] as string, id] as const)
    const wide = ids('p', 5_000)
    const fan = layoutDag(['start', ...wide, 'join'], [...wide.map((id) => ['start', id] as const), ...wide.map((id) => [id, 'join'] as const)])
    expect(fan.layers.map((l) => l.length)).toEqual([1, 5_000, 1])
    const chain = ids('s', 25_000)
    expect(layoutDag(chain, links(chain)).layers).toHaveLength(25_000)
  })
})
