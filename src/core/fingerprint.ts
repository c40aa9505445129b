/**
 * @module
 * The structural fingerprint of a workflow graph: what a run is pinned to besides the version string. It covers
 * what decides which steps a run executes and in what order — step ids, their kinds (step, conditional step,
 * sleep, event wait and its event name, map) and the edges — and nothing else: handler code, schemas and retry
 * options may change under one fingerprint. A run continues only on a definition with its version and its
 * fingerprint (README "Deploying a change safely").
 */

/** What the fingerprint covers of one node. */
export interface FingerprintNode {
  readonly id: string
  readonly kind: 'step' | 'conditional' | 'sleep' | 'event' | 'child' | 'map'
  /** The event name of an event wait, the workflow id of a child step; null otherwise. */
  readonly event: string | null
}

/** The kind of a built node, as the fingerprint sees it. */
export function nodeKind(node: {
  readonly wait: { readonly kind: 'sleep' | 'event' | 'child' } | null
  readonly condition: unknown
  readonly map?: unknown
}): FingerprintNode['kind'] {
  return node.wait ? node.wait.kind : node.map ? 'map' : node.condition ? 'conditional' : 'step'
}

/**
 * A stable 16-hex-digit hash of the graph, independent of insertion order. Synchronous, so `build()` stays
 * synchronous; the same on Node and workerd (FNV-1a 64 over the UTF-8 of a canonical JSON text: not a
 * cryptographic hash, which a fingerprint compared only with its own workflow's versions does not need).
 */
export function graphFingerprint(nodes: readonly FingerprintNode[], edges: readonly (readonly [string, string])[]): string {
  const canonical = JSON.stringify({
    nodes: [...nodes].sort((a, b) => compare(a.id, b.id)).map((n) => [n.id, n.kind, n.event]),
    edges: edges.map(([from, to]): [string, string] => [from, to]).sort((a, b) => compare(a[0], b[0]) || compare(a[1], b[1])),
  })
  return fnv1a64(new TextEncoder().encode(canonical))
}

const FNV_OFFSET = 0xcbf29ce484222325n
const FNV_PRIME = 0x100000001b3n
const MASK_64 = 0xffffffffffffffffn

function fnv1a64(bytes: Uint8Array): string {
  let hash = FNV_OFFSET
  for (const byte of bytes) hash = ((hash ^ BigInt(byte)) * FNV_PRIME) & MASK_64
  return hash.toString(16).padStart(16, '0')
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}
