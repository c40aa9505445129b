/**
 * @module
 * What is deployed, and what still runs on it: the in-flight runs (PENDING, RUNNING, PAUSED) of each workflow
 * grouped by the version and graph fingerprint they are pinned to, beside the versions registered here. Read
 * through the store's ordinary `listRuns` by status (and workflow), which every store serves from an index:
 * the cost is one read per in-flight run, never one per finished run (README "Deploying a change safely").
 */
import type { RunRecord, RunStatus } from './model'
import type { WorkflowStore } from './store'
import type { AnyWorkflow } from './workflow'

/** Statuses of a run that has not ended: what still depends on its version being deployed somewhere. */
export const IN_FLIGHT_STATUSES: readonly RunStatus[] = ['PENDING', 'RUNNING', 'PAUSED']

/** Most in-flight runs read per status: past it the counts are lower bounds (`truncated`). */
export const MAX_INVENTORY_RUNS_PER_STATUS = 10_000

/** Run ids listed per version no longer registered, so an operator can migrate or cancel them. */
export const LISTED_ORPHAN_RUNS = 20

const PAGE = 1000

/** One version of one workflow: registered here, or only still referenced by in-flight runs. */
export interface VersionInventory {
  readonly version: string
  /** Null for runs stored before fingerprints existed (then only the version string pins them). */
  readonly fingerprint: string | null
  /** Whether a definition with this version and fingerprint is registered on this engine. */
  readonly registered: boolean
  /** The version new runs start on (the one registered last). */
  readonly current: boolean
  readonly inFlight: number
  /** For versions not registered: the oldest in-flight runs on it (at most {@link LISTED_ORPHAN_RUNS}). */
  readonly orphanRunIds: readonly string[]
}

export interface WorkflowInventory {
  readonly workflowId: string
  /** Registered versions first, in registration order, then the unregistered ones with runs in flight. */
  readonly versions: readonly VersionInventory[]
}

export interface Inventory {
  readonly workflows: readonly WorkflowInventory[]
  /** True when a status had more in-flight runs than were read; counts are then lower bounds. */
  readonly truncated: boolean
}

/** Whether `wf` is the definition a run with this version and fingerprint continues on. */
export function runsOn(wf: AnyWorkflow, version: string, fingerprint: string | null): boolean {
  return wf.version === version && (fingerprint === null || wf.fingerprint === fingerprint)
}

/**
 * Counts the in-flight runs of `registered` workflows (all ids, or only `workflowId`) by version. With no
 * `workflowId`, in-flight runs of workflow ids not registered at all are reported too.
 */
export async function versionInventory(
  store: WorkflowStore,
  registered: ReadonlyMap<string, readonly AnyWorkflow[]>,
  workflowId?: string,
): Promise<Inventory> {
  const runs: RunRecord[] = []
  let truncated = false
  for (const status of IN_FLIGHT_STATUSES) {
    let cursor: string | null = null
    let read = 0
    do {
      const page = await store.listRuns({ status, limit: PAGE, cursor, ...(workflowId === undefined ? {} : { workflowId }) })
      runs.push(...page.runs)
      read += page.runs.length
      cursor = page.nextCursor
    } while (cursor !== null && read < MAX_INVENTORY_RUNS_PER_STATUS)
    if (cursor !== null) truncated = true
  }
  // Oldest first, so the listed orphans are the ones waiting longest.
  runs.sort((a, b) => a.createdAt - b.createdAt || (a.runId < b.runId ? -1 : 1))

  const ids = workflowId === undefined ? [...new Set([...registered.keys(), ...runs.map((r) => r.workflowId)])] : [workflowId]
  const workflows = ids.map((id): WorkflowInventory => {
    const versions = registered.get(id) ?? []
    const ofWorkflow = runs.filter((r) => r.workflowId === id)
    const listed: VersionInventory[] = versions.map((wf, i) => ({
      version: wf.version,
      fingerprint: wf.fingerprint,
      registered: true,
      current: i === versions.length - 1,
      inFlight: ofWorkflow.filter((r) => runsOn(wf, r.workflowVersion, r.workflowFingerprint)).length,
      orphanRunIds: [],
    }))
    const orphans = new Map<string, { version: string; fingerprint: string | null; runIds: string[] }>()
    for (const run of ofWorkflow) {
      if (versions.some((wf) => runsOn(wf, run.workflowVersion, run.workflowFingerprint))) continue
      const key = JSON.stringify([run.workflowVersion, run.workflowFingerprint])
      const group = orphans.get(key) ?? { version: run.workflowVersion, fingerprint: run.workflowFingerprint, runIds: [] }
      group.runIds.push(run.runId)
      orphans.set(key, group)
    }
    for (const group of orphans.values()) {
      listed.push({
        version: group.version,
        fingerprint: group.fingerprint,
        registered: false,
        current: false,
        inFlight: group.runIds.length,
        orphanRunIds: group.runIds.slice(0, LISTED_ORPHAN_RUNS),
      })
    }
    return { workflowId: id, versions: listed }
  })
  return { workflows, truncated }
}
