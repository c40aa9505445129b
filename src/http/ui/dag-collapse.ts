/**
 * @module
 * Folds long chains and wide fans of a step graph into one node each, so a 10,000-step run draws as a handful of
 * nodes instead of a picture 500,000 px tall (or, for a 25,000-step parallel block, 4,600,000 px wide). A chain
 * is a path whose inner links are the only edge out of one node and the only edge into the next; one longer than
 * {@link MAX_CHAIN} keeps its first and last nodes and draws the rest as one "… k steps" node. A fan is a set of
 * steps with the same predecessors and the same successors (a parallel block); one wider than {@link MAX_FAN}
 * keeps its first and last steps and draws the rest as one "… k parallel steps" node. A folded node is coloured by
 * the most telling status among its steps. Iterative: no recursion, whatever the graph's size.
 */
import type { DagNodeView } from './dag-svg'
import type { DisplayStatus } from './status'

/** Longest chain drawn node by node: a workflow of everyday size is drawn whole. */
export const MAX_CHAIN = 24

/** Widest parallel block drawn node by node. */
export const MAX_FAN = 24

/** Prefix of a folded node's id; a control character, so it never equals a step id a user can type. */
export const FOLDED_ID_PREFIX = '\u0001folded:'

// The status a folded node shows when its steps differ: what needs attention first, then progress.
const STATUS_PRIORITY: readonly DisplayStatus[] = [
  'FAILED',
  'RUNNING',
  'RETRYING',
  'PENDING',
  'PAUSED',
  'CANCELLED',
  'NOT_STARTED',
  'SKIPPED',
  'COMPLETED',
]

export interface FoldedGraph {
  readonly nodes: readonly DagNodeView[]
  readonly edges: readonly (readonly [string, string])[]
}

/** The graph with every chain longer than {@link MAX_CHAIN} and every fan wider than {@link MAX_FAN} folded. */
export function foldGraph(nodes: readonly DagNodeView[], edges: readonly (readonly [string, string])[]): FoldedGraph {
  const chains = foldChains(nodes, edges)
  return foldFans(chains.nodes, chains.edges)
}

/** The graph with every chain longer than `maxChain` folded; unchanged when there is none. */
export function foldChains(
  nodes: readonly DagNodeView[],
  edges: readonly (readonly [string, string])[],
  maxChain = MAX_CHAIN,
): FoldedGraph {
  const outs = new Map<string, string[]>()
  const ins = new Map<string, number>()
  for (const node of nodes) {
    outs.set(node.id, [])
    ins.set(node.id, 0)
  }
  const seen = new Set<string>()
  for (const [from, to] of edges) {
    const key = JSON.stringify([from, to])
    if (seen.has(key) || !outs.has(from) || !ins.has(to)) continue
    seen.add(key)
    outs.get(from)?.push(to)
    ins.set(to, (ins.get(to) as number) + 1)
  }
  const views = new Map(nodes.map((n) => [n.id, n]))
  // `from -> to` is a chain link when it is the only edge out of `from` and the only one into `to`.
  const linkAfter = (id: string): string | null => {
    const out = outs.get(id) as string[]
    const next = out.length === 1 ? (out[0] as string) : null
    return next !== null && ins.get(next) === 1 ? next : null
  }
  const continues = new Set<string>()
  for (const node of nodes) {
    const next = linkAfter(node.id)
    if (next !== null) continues.add(next)
  }
  // Hidden step id -> the folded node that stands for it.
  const foldedInto = new Map<string, string>()
  const folded = new Map<string, DagNodeView>()
  for (const start of nodes) {
    if (continues.has(start.id)) continue
    // Ends: a link always leads to a node nothing else enters, so following links can never come back round.
    const chain = [start.id]
    for (let next = linkAfter(start.id); next !== null; next = linkAfter(next)) chain.push(next)
    if (chain.length <= maxChain) continue
    const hidden = chain.slice(1, -1)
    const id = `${FOLDED_ID_PREFIX}${hidden[0] as string}`
    const first = views.get(hidden[0] as string) as DagNodeView
    for (const h of hidden) foldedInto.set(h, id)
    folded.set(id, {
      id,
      label: `… ${hidden.length.toLocaleString('en')} steps`,
      status: foldedStatus(hidden.map((h) => (views.get(h) as DagNodeView).status)),
      href: first.href,
    })
  }
  return replaceFolded(nodes, edges, foldedInto, folded)
}

/** The graph with every fan wider than `maxFan` folded; unchanged when there is none. */
export function foldFans(
  nodes: readonly DagNodeView[],
  edges: readonly (readonly [string, string])[],
  maxFan = MAX_FAN,
): FoldedGraph {
  const preds = new Map<string, string[]>()
  const succs = new Map<string, string[]>()
  for (const node of nodes) {
    preds.set(node.id, [])
    succs.set(node.id, [])
  }
  for (const [from, to] of edges) {
    succs.get(from)?.push(to)
    preds.get(to)?.push(from)
  }
  // Steps with no predecessor or no successor are left alone: "the same neighbours" must mean a shared fork or join.
  const fans = new Map<string, string[]>()
  for (const node of nodes) {
    const before = [...new Set(preds.get(node.id))].sort()
    const after = [...new Set(succs.get(node.id))].sort()
    if (before.length === 0 && after.length === 0) continue
    const key = JSON.stringify([before, after])
    const fan = fans.get(key)
    if (fan) fan.push(node.id)
    else fans.set(key, [node.id])
  }
  const views = new Map(nodes.map((n) => [n.id, n]))
  const foldedInto = new Map<string, string>()
  const folded = new Map<string, DagNodeView>()
  for (const fan of fans.values()) {
    if (fan.length <= maxFan) continue
    const hidden = fan.slice(1, -1)
    const id = `${FOLDED_ID_PREFIX}${hidden[0] as string}`
    for (const h of hidden) foldedInto.set(h, id)
    folded.set(id, {
      id,
      label: `… ${hidden.length.toLocaleString('en')} parallel steps`,
      status: foldedStatus(hidden.map((h) => (views.get(h) as DagNodeView).status)),
      href: (views.get(hidden[0] as string) as DagNodeView).href,
    })
  }
  return replaceFolded(nodes, edges, foldedInto, folded)
}

/** Puts each folded node where its first step was, drops its steps, and points their edges at it. */
function replaceFolded(
  nodes: readonly DagNodeView[],
  edges: readonly (readonly [string, string])[],
  foldedInto: ReadonlyMap<string, string>,
  folded: ReadonlyMap<string, DagNodeView>,
): FoldedGraph {
  if (folded.size === 0) return { nodes, edges }
  const kept: DagNodeView[] = []
  const placed = new Set<string>()
  for (const node of nodes) {
    const into = foldedInto.get(node.id)
    if (into === undefined) kept.push(node)
    else if (!placed.has(into)) {
      placed.add(into)
      kept.push(folded.get(into) as DagNodeView)
    }
  }
  const keptEdges: (readonly [string, string])[] = []
  const keptSeen = new Set<string>()
  for (const [from, to] of edges) {
    const a = foldedInto.get(from) ?? from
    const b = foldedInto.get(to) ?? to
    const key = JSON.stringify([a, b])
    if (a === b || keptSeen.has(key)) continue
    keptSeen.add(key)
    keptEdges.push([a, b])
  }
  return { nodes: kept, edges: keptEdges }
}

function foldedStatus(statuses: readonly (DisplayStatus | null)[]): DisplayStatus | null {
  if (statuses.some((s) => s === null)) return null
  const present = new Set(statuses)
  return STATUS_PRIORITY.find((s) => present.has(s)) ?? (statuses[0] as DisplayStatus)
}
