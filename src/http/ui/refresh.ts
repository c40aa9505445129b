/**
 * @module
 * Cheap change detection for live pages. A page showing live runs carries a fingerprint of what it shows;
 * its refresh script asks for the same URL with {@link FINGERPRINT_HEADER} every few seconds and gets only
 * the current fingerprint back (one store read for a run page), and reloads the page only when it differs.
 * So a page of a long-running step does not flicker, lose open sections or steal a click every interval.
 */
import type { RunRecord } from '../../core/model'
import { assetVersion } from './styles'

/** Request header asking a page for its fingerprint instead of its HTML. */
export const FINGERPRINT_HEADER = 'X-Gorkflow-Fingerprint'

/** Changes whenever the run is written (every commit bumps `updatedAt`). */
export function runFingerprint(run: RunRecord): string {
  return assetVersion(`${run.runId}:${run.status}:${run.progress}:${run.updatedAt}`)
}

/** Changes when a run enters or leaves the page or any shown run is written. */
export function runsFingerprint(runs: readonly RunRecord[], nextCursor: string | null): string {
  return assetVersion(`${runs.map((r) => `${r.runId}:${r.status}:${r.updatedAt}`).join(',')}|${nextCursor ?? ''}`)
}
