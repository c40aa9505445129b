/**
 * @module
 * Layered (Sugiyama-style) layout of a step graph, top to bottom, computed on the server so the dashboard
 * ships plain SVG. Pure: no I/O, no randomness, the same graph always yields the same picture.
 *
 * 1. Layers by longest path from the entries, so every edge points downwards.
 * 2. Edges spanning several layers get a virtual node per crossed layer, so they route around real nodes.
 * 3. Order within each layer by barycentre sweeps, keeping the order with the fewest crossings.
 * 4. x positions pulled towards the neighbours' barycentre without overlapping, then the whole picture is
 *    shifted so its left edge sits at the padding.
 */

/** Geometry knobs, in SVG user units (px). */
export interface DagLayoutOptions {
  /** @default 160 */
  readonly nodeWidth?: number
  /** @default 48 */
  readonly nodeHeight?: number
  /** Vertical space between two layers. @default 44 */
  readonly layerGap?: number
  /** Horizontal space between two neighbours in a layer. @default 24 */
  readonly nodeGap?: number
  /** Margin around the drawing. @default 12 */
  readonly padding?: number
}

export interface LaidOutNode {
  readonly id: string
  /** 0-based layer: the length of the longest path from an entry. */
  readonly layer: number
  /** 0-based position within the layer, left to right. */
  readonly order: number
  /** Top-left corner. */
  readonly x: number
  readonly y: number
  readonly width: number
  readonly height: number
}

export interface Point {
  readonly x: number
  readonly y: number
}

export interface LaidOutEdge {
  readonly from: string
  readonly to: string
  /** From the bottom centre of `from`, through the virtual nodes, to the top centre of `to`. */
  readonly points: readonly Point[]
}

export interface DagLayout {
  readonly width: number
  readonly height: number
  /** In the input order. */
  readonly nodes: readonly LaidOutNode[]
  /** In the input order, duplicates removed. */
  readonly edges: readonly LaidOutEdge[]
  /** Node ids per layer, left to right (virtual nodes left out). */
  readonly layers: readonly (readonly string[])[]
}

const DEFAULTS = Object.freeze({ nodeWidth: 160, nodeHeight: 48, layerGap: 44, nodeGap: 24, padding: 12 })

// Barycentre sweeps converge within a handful of passes on graphs of workflow size; more only costs time.
const ORDER_SWEEPS = 8
const POSITION_SWEEPS = 4

interface Item {
  readonly key: number
  /** Real node id, or null for a virtual node. */
  readonly id: string | null
  readonly layer: number
  readonly width: number
  readonly up: number[]
  readonly down: number[]
  /** Insertion index, the tie-breaker that keeps the layout stable. */
  readonly rank: number
}

/**
 * Lays out a directed acyclic graph.
 * @throws Error when an edge names an unknown node or the graph has a cycle (a built workflow never does).
 */
export function layoutDag(
  nodeIds: readonly string[],
  edges: readonly (readonly [string, string])[],
  options: DagLayoutOptions = {},
): DagLayout {
  const o = { ...DEFAULTS, ...definedOnly(options) }
  const index = new Map<string, number>()
  for (const id of nodeIds) if (!index.has(id)) index.set(id, index.size)
  const ids = [...index.keys()]

  const uniqueEdges: (readonly [string, string])[] = []
  const seen = new Set<string>()
  for (const [from, to] of edges) {
    if (!index.has(from) || !index.has(to)) throw new Error(`edge ${from} -> ${to} names an unknown node`)
    const key = `${from}\u0000${to}`
    if (seen.has(key)) continue
    seen.add(key)
    uniqueEdges.push([from, to])
  }

  const layerOf = longestPathLayers(ids, uniqueEdges)

  // Items: real nodes first (keys = input index), then virtual nodes as edges need them.
  const items: Item[] = ids.map((id, i) => ({
    key: i,
    id,
    layer: layerOf[i] as number,
    width: o.nodeWidth,
    up: [],
    down: [],
    rank: i,
  }))
  const chains: number[][] = []
  for (const [from, to] of uniqueEdges) {
    const a = index.get(from) as number
    const b = index.get(to) as number
    const chain = [a]
    for (let layer = (layerOf[a] as number) + 1; layer < (layerOf[b] as number); layer++) {
      const key = items.length
      items.push({ key, id: null, layer, width: 0, up: [], down: [], rank: ids.length + key })
      chain.push(key)
    }
    chain.push(b)
    for (let i = 0; i + 1 < chain.length; i++) {
      const upper = items[chain[i] as number] as Item
      const lower = items[chain[i + 1] as number] as Item
      upper.down.push(lower.key)
      lower.up.push(upper.key)
    }
    chains.push(chain)
  }

  // A loop, not Math.max(...layerOf): spreading tens of thousands of arguments overflows the call stack.
  const layerCount = layerOf.reduce((most, layer) => Math.max(most, layer + 1), 0)
  const layers = orderLayers(items, layerCount)
  const xs = positionLayers(items, layers, o.nodeGap)

  // Shift so the leftmost left edge sits at the padding.
  let minLeft = Infinity
  let maxRight = -Infinity
  for (const item of items) {
    const centre = xs[item.key] as number
    minLeft = Math.min(minLeft, centre - item.width / 2)
    maxRight = Math.max(maxRight, centre + item.width / 2)
  }
  const shift = Number.isFinite(minLeft) ? o.padding - minLeft : 0
  const centreX = (key: number) => round((xs[key] as number) + shift)
  const top = (layer: number) => o.padding + layer * (o.nodeHeight + o.layerGap)

  const orderOf = new Map<number, number>()
  for (const layer of layers) layer.forEach((key, i) => orderOf.set(key, i))

  const nodes: LaidOutNode[] = items
    .filter((item) => item.id !== null)
    .map((item) => ({
      id: item.id as string,
      layer: item.layer,
      order: orderOf.get(item.key) as number,
      x: round(centreX(item.key) - o.nodeWidth / 2),
      y: top(item.layer),
      width: o.nodeWidth,
      height: o.nodeHeight,
    }))

  const laidEdges: LaidOutEdge[] = chains.map((chain) => {
    const first = items[chain[0] as number] as Item
    const last = items[chain[chain.length - 1] as number] as Item
    const points: Point[] = [{ x: centreX(first.key), y: top(first.layer) + o.nodeHeight }]
    // A virtual node occupies its layer's whole band, so the edge passes straight down through it.
    for (const key of chain.slice(1, -1)) {
      const item = items[key] as Item
      points.push({ x: centreX(key), y: top(item.layer) }, { x: centreX(key), y: top(item.layer) + o.nodeHeight })
    }
    points.push({ x: centreX(last.key), y: top(last.layer) })
    return { from: first.id as string, to: last.id as string, points }
  })

  return {
    width: round(Number.isFinite(maxRight) ? maxRight - minLeft + 2 * o.padding : 2 * o.padding),
    height: layerCount === 0 ? 2 * o.padding : top(layerCount - 1) + o.nodeHeight + o.padding,
    nodes,
    edges: laidEdges,
    layers: layers.map((layer) => layer.map((key) => items[key]?.id).filter((id): id is string => id != null)),
  }
}

/** The number of pairwise edge crossings between consecutive layers of a layout. */
export function countCrossings(layout: DagLayout): number {
  // Segments between consecutive points, grouped by the band (pair of y values) they cross.
  const bands = new Map<string, { x1: number; x2: number }[]>()
  for (const edge of layout.edges) {
    for (let i = 0; i + 1 < edge.points.length; i++) {
      const p = edge.points[i] as Point
      const q = edge.points[i + 1] as Point
      if (p.y === q.y) continue
      const band = `${p.y}:${q.y}`
      const list = bands.get(band) ?? []
      list.push({ x1: p.x, x2: q.x })
      bands.set(band, list)
    }
  }
  let crossings = 0
  for (const segments of bands.values()) {
    for (let i = 0; i < segments.length; i++) {
      for (let j = i + 1; j < segments.length; j++) {
        const a = segments[i] as { x1: number; x2: number }
        const b = segments[j] as { x1: number; x2: number }
        if ((a.x1 - b.x1) * (a.x2 - b.x2) < 0) crossings++
      }
    }
  }
  return crossings
}

function longestPathLayers(ids: readonly string[], edges: readonly (readonly [string, string])[]): number[] {
  const index = new Map(ids.map((id, i) => [id, i]))
  const preds = ids.map(() => [] as number[])
  const succs = ids.map(() => [] as number[])
  const indegree = ids.map(() => 0)
  for (const [from, to] of edges) {
    const a = index.get(from) as number
    const b = index.get(to) as number
    succs[a]?.push(b)
    preds[b]?.push(a)
    indegree[b] = (indegree[b] as number) + 1
  }
  // Kahn's algorithm in input order: a node's layer is fixed once all its predecessors have theirs.
  const layer = ids.map(() => 0)
  const queue = ids.map((_, i) => i).filter((i) => indegree[i] === 0)
  let visited = 0
  for (let head = 0; head < queue.length; head++) {
    const n = queue[head] as number
    visited++
    for (const p of preds[n] as number[]) layer[n] = Math.max(layer[n] as number, (layer[p] as number) + 1)
    for (const s of succs[n] as number[]) {
      indegree[s] = (indegree[s] as number) - 1
      if (indegree[s] === 0) queue.push(s)
    }
  }
  if (visited < ids.length) {
    const stuck = ids.filter((_, i) => (indegree[i] as number) > 0)
    throw new Error(`graph has a cycle through ${stuck.join(', ')}`)
  }
  return layer
}

function orderLayers(items: readonly Item[], layerCount: number): number[][] {
  const layers: number[][] = Array.from({ length: layerCount }, () => [])
  for (const item of items) layers[item.layer]?.push(item.key)
  for (const layer of layers) layer.sort((a, b) => (items[a] as Item).rank - (items[b] as Item).rank)
  // Seed each layer below the first from its parents' positions, so a fan-out starts untangled.
  sweep(items, layers, 'down')

  let best = layers.map((l) => [...l])
  let bestCrossings = crossingsOf(items, layers)
  for (let i = 0; i < ORDER_SWEEPS && bestCrossings > 0; i++) {
    sweep(items, layers, i % 2 === 0 ? 'up' : 'down')
    const crossings = crossingsOf(items, layers)
    if (crossings < bestCrossings) {
      bestCrossings = crossings
      best = layers.map((l) => [...l])
    }
  }
  return best
}

function sweep(items: readonly Item[], layers: number[][], direction: 'up' | 'down'): void {
  const position = new Map<number, number>()
  for (const layer of layers) layer.forEach((key, i) => position.set(key, i))
  const range = direction === 'down' ? layers.map((_, i) => i).slice(1) : layers.map((_, i) => i).reverse().slice(1)
  for (const l of range) {
    const layer = layers[l] as number[]
    const bary = new Map<number, number>()
    for (const key of layer) {
      const item = items[key] as Item
      const neighbours = direction === 'down' ? item.up : item.down
      bary.set(
        key,
        neighbours.length === 0
          ? (position.get(key) as number)
          : neighbours.reduce((sum, n) => sum + (position.get(n) as number), 0) / neighbours.length,
      )
    }
    layer.sort((a, b) => (bary.get(a) as number) - (bary.get(b) as number) || (items[a] as Item).rank - (items[b] as Item).rank)
    layer.forEach((key, i) => position.set(key, i))
  }
}

/**
 * Crossings between consecutive layers, counted as inversions with a Fenwick tree in O(E log E): comparing every
 * pair of segments took minutes for a step fanning out to 25,000.
 */
function crossingsOf(items: readonly Item[], layers: readonly number[][]): number {
  let total = 0
  for (let l = 0; l + 1 < layers.length; l++) {
    const lower = layers[l + 1] as number[]
    const lowerPos = new Map(lower.map((key, i) => [key, i]))
    // Upper ends ascend as segments are pushed; lower ends ascend within one upper end.
    const ends: number[] = []
    for (const key of layers[l] as number[]) {
      const own = (items[key] as Item).down.map((d) => lowerPos.get(d) as number).sort((a, b) => a - b)
      for (const end of own) ends.push(end)
    }
    // Two segments cross when the later upper end has the smaller lower end; equal ends never cross, and within
    // one upper end the lower ends ascend, so counting strictly greater earlier ends counts exactly the crossings.
    const tree = new Array<number>(lower.length + 1).fill(0)
    ends.forEach((end, seen) => {
      let atMost = 0
      for (let i = end + 1; i > 0; i -= i & -i) atMost += tree[i] as number
      total += seen - atMost
      for (let i = end + 1; i <= lower.length; i += i & -i) tree[i] = (tree[i] as number) + 1
    })
  }
  return total
}

/** Centre x of every item: packed layers, then pulled towards neighbours without changing the order. */
function positionLayers(items: readonly Item[], layers: readonly number[][], gap: number): number[] {
  const xs = items.map(() => 0)
  const widthOf = (key: number) => (items[key] as Item).width
  const layerWidth = (layer: readonly number[]) =>
    layer.reduce((sum, key) => sum + widthOf(key), 0) + Math.max(0, layer.length - 1) * gap
  const widest = layers.reduce((most, layer) => Math.max(most, layerWidth(layer)), 0)
  // Start packed and centred on the widest layer.
  for (const layer of layers) {
    let left = (widest - layerWidth(layer)) / 2
    for (const key of layer) {
      xs[key] = left + widthOf(key) / 2
      left += widthOf(key) + gap
    }
  }
  for (let pass = 0; pass < POSITION_SWEEPS; pass++) {
    const down = pass % 2 === 0
    const order = down ? layers.slice(1) : layers.slice(0, -1).reverse()
    for (const layer of order) {
      const desired = layer.map((key) => {
        const item = items[key] as Item
        const neighbours = down ? item.up : item.down
        if (neighbours.length === 0) return xs[key] as number
        return neighbours.reduce((sum, n) => sum + (xs[n] as number), 0) / neighbours.length
      })
      placeInOrder(layer, desired, widthOf, gap, xs)
    }
  }
  return xs
}

/**
 * Places a layer's items as close as possible to their desired centres, in order and `gap` apart: a left-to-
 * right pass pushes overlapping items right, then the block is shifted so its mean displacement is zero.
 */
function placeInOrder(
  layer: readonly number[],
  desired: readonly number[],
  widthOf: (key: number) => number,
  gap: number,
  xs: number[],
): void {
  const placed: number[] = []
  layer.forEach((key, i) => {
    const want = desired[i] as number
    if (i === 0) return placed.push(want)
    const prevKey = layer[i - 1] as number
    const min = (placed[i - 1] as number) + widthOf(prevKey) / 2 + gap + widthOf(key) / 2
    placed.push(Math.max(want, min))
  })
  const drift = placed.reduce((sum, x, i) => sum + (x - (desired[i] as number)), 0) / Math.max(1, placed.length)
  layer.forEach((key, i) => {
    xs[key] = (placed[i] as number) - drift
  })
}

function round(value: number): number {
  return Math.round(value * 10) / 10
}

function definedOnly(options: DagLayoutOptions): Partial<typeof DEFAULTS> {
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined))
}
