/**
 * @module
 * Naming of child runs (README "Child workflows"). A child's run id is derived from its parent's run id and the
 * parent's node id, so every engine that resumes the parent names the same child: starting it again finds the
 * existing run instead of a second one, and cancel, pause and the API find a parent's children without an index.
 */
import { v5 as uuidv5 } from 'uuid'

/**
 * How long a parent waits before looking at its child without being woken. The child's end wakes it at once; this
 * only bounds the wait when the engine that ended the child died before delivering that wake-up.
 */
export const CHILD_RECHECK_MS = 15 * 60_000

/** UUIDv5 namespace of child run ids (a random UUID fixed once: changing it would orphan running children). */
const CHILD_RUN_NAMESPACE = '6f1c2d4e-8a5b-4c3d-9e7f-0a1b2c3d4e5f'

/** The run id of the child that node `nodeId` of run `parentRunId` starts. */
export function childRunId(parentRunId: string, nodeId: string): string {
  return uuidv5(`${parentRunId}/${nodeId}`, CHILD_RUN_NAMESPACE)
}

/** The internal event a finished child delivers to its parent, which wakes the parent's wait like any event. */
export function childEventName(childRunId: string): string {
  return `child:${childRunId}`
}
