/**
 * @module
 * Map nodes over an array produced at run time (README "Map over an array"): how item records are named, and
 * the bookkeeping of one open map — which items may start (at most `concurrency` in flight), which are done,
 * and the map's output in item order. The execution (run-execution.ts) owns the item slots and their attempts;
 * this module decides nothing about the store.
 *
 * Each item is a step execution record of its own, `<mapId>[<index>]`, written only in the commits where that
 * item starts, retries or ends: a commit never rewrites the other items, so an item costs what a step of a
 * sequential run costs.
 */
import { GorkflowError } from './errors'
import type { Json, StepExecution } from './model'

/**
 * Most items one map may run: Cloudflare Workflows' step ceiling, as {@link MAX_STEPS}. A longer array fails the
 * map (MAP_TOO_LARGE) before any item starts.
 */
export const MAX_MAP_ITEMS = 25_000

/** Items of one map in flight at once when the map names no `concurrency`. */
export const DEFAULT_MAP_CONCURRENCY = 10

/** Most items in flight a map may ask for: one execution launches them all from one isolate. */
export const MAX_MAP_CONCURRENCY = 1000

/** The step id of item `index` of map node `mapId`. */
export function mapItemId(mapId: string, index: number): string {
  return `${mapId}[${index}]`
}

const ITEM_ID = /^(.*)\[(0|[1-9][0-9]{0,8})\]$/

/** The map node and index an item step id names, or null when `stepId` is not of the item form. */
export function parseMapItemId(stepId: string): { readonly mapId: string; readonly index: number } | null {
  const match = ITEM_ID.exec(stepId)
  return match ? { mapId: match[1] as string, index: Number(match[2]) } : null
}

/** How far one map's items got: its size, and its item records counted by status (items not started have none). */
export interface MapItemCounts {
  /** The map's item count: its input's length once it opened. */
  readonly total: number
  readonly notStarted: number
  readonly byStatus: Partial<Record<StepExecution['status'], number>>
}

/** A run's step records with every map's item records taken out, in item order, beside their map. */
export interface RunStepRecords {
  readonly nodes: StepExecution[]
  readonly items: ReadonlyMap<string, readonly StepExecution[]>
}

/**
 * Splits a run's step records into the records of nodes and, per map node, its item records in item order.
 * `mapIds` are the map nodes of the run's definition; without one (a version not registered here), a recorded step
 * with records of its item form is taken for a map.
 */
export function splitMapItems(steps: readonly StepExecution[], mapIds: ReadonlySet<string> | null): RunStepRecords {
  const maps = mapIds ?? new Set(steps.map((s) => s.stepId))
  const nodes: StepExecution[] = []
  const indexed = new Map<string, { index: number; step: StepExecution }[]>()
  for (const step of steps) {
    const item = parseMapItemId(step.stepId)
    if (item === null || !maps.has(item.mapId)) {
      nodes.push(step)
      continue
    }
    const list = indexed.get(item.mapId) ?? []
    list.push({ index: item.index, step })
    indexed.set(item.mapId, list)
  }
  const items = new Map<string, StepExecution[]>()
  for (const [mapId, list] of indexed) items.set(mapId, list.sort((a, b) => a.index - b.index).map((e) => e.step))
  return { nodes, items }
}

/** The ids of a definition's map nodes; null without a definition. */
export function mapNodeIds(workflow: { readonly steps: readonly { readonly id: string; readonly map: unknown }[] } | null): Set<string> | null {
  return workflow === null ? null : new Set(workflow.steps.filter((n) => n.map !== null).map((n) => n.id))
}

/** Counts a map's item records by status; `mapRecord` (its input) gives the item count once the map opened. */
export function countMapItems(mapRecord: StepExecution, items: readonly StepExecution[]): MapItemCounts {
  const byStatus: Partial<Record<StepExecution['status'], number>> = {}
  for (const item of items) byStatus[item.status] = (byStatus[item.status] ?? 0) + 1
  const total = Math.max(Array.isArray(mapRecord.input) ? mapRecord.input.length : 0, items.length)
  return { total, notStarted: total - items.length, byStatus }
}

/**
 * The items of a map from its input: an array of at most {@link MAX_MAP_ITEMS}.
 * @throws GorkflowError VALIDATION_ERROR for another value, MAP_TOO_LARGE for a longer array
 */
export function mapItemsOf(mapId: string, input: Json): readonly Json[] {
  if (!Array.isArray(input)) {
    const kind = input === null ? 'null' : typeof input === 'object' ? 'an object' : `a ${typeof input}`
    throw new GorkflowError('VALIDATION_ERROR', `map ${mapId} needs an array as its input, got ${kind}`)
  }
  if (input.length > MAX_MAP_ITEMS) {
    throw new GorkflowError(
      'MAP_TOO_LARGE',
      `map ${mapId} was given ${input.length} items; at most ${MAX_MAP_ITEMS} (MAX_MAP_ITEMS) are allowed`,
    )
  }
  return input
}

/**
 * One open map's window over its items. Items are released (may start) in item order while fewer than
 * `concurrency` are in flight; an item is in flight from its release until it is done, retry backoffs included,
 * so no more than `concurrency` handlers of the map ever run at once.
 */
export class MapWindow {
  readonly concurrency: number
  readonly size: number
  /** Whether item i was released (started at least once, now or in an earlier execution). */
  readonly #released: Uint8Array
  #nextRelease = 0
  #inFlight = 0
  #done = 0

  constructor(size: number, concurrency: number) {
    this.size = size
    this.concurrency = concurrency
    this.#released = new Uint8Array(size)
  }

  get done(): number {
    return this.#done
  }

  get complete(): boolean {
    return this.#done === this.size
  }

  /** Item `index` was found started (restored from its record): in flight until {@link finished} says otherwise. */
  restored(index: number): void {
    if (this.#released[index] === 1) return
    this.#released[index] = 1
    this.#inFlight++
  }

  /** Item `index`, in flight, is done (completed, or failed for good). */
  finished(): void {
    this.#inFlight--
    this.#done++
  }

  /** The items that may start now, in item order; each counts as in flight from here. */
  release(): number[] {
    const out: number[] = []
    while (this.#inFlight < this.concurrency && this.#nextRelease < this.size) {
      const index = this.#nextRelease++
      if (this.#released[index] === 1) continue
      this.#released[index] = 1
      this.#inFlight++
      out.push(index)
    }
    return out
  }
}
