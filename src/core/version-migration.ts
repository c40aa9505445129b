/**
 * @module
 * Whether a run can move to another version of its workflow (`Engine.migrate`): the new run reuses the outputs
 * of the steps that completed, as a retry does, so each of them must exist in the target version as the same
 * kind of node, with schemas that accept what was recorded, and with all its target predecessors completed too
 * (otherwise the target would run a new predecessor after its successor: an order neither version has).
 */
import { isGorkflowError, type MigrationMismatch } from './errors'
import { nodeKind } from './fingerprint'
import { parseMapItemId } from './map-items'
import type { RunRecord, StepExecution } from './model'
import { validate, type StandardSchemaV1 } from './schema'
import type { AnyWorkflow } from './workflow'

/** The steps whose outputs a migrated (or retried) run reuses. */
export function reusedSteps(steps: readonly StepExecution[]): StepExecution[] {
  return steps.filter((s) => s.status === 'COMPLETED' || s.status === 'SKIPPED')
}

/**
 * Every reason `run` (with its `steps`) cannot continue on `target`; empty when it can. `source` is the run's own
 * definition when registered here, for comparing node kinds; without it, ids and schemas alone decide.
 */
export async function migrationMismatches(
  run: RunRecord,
  steps: readonly StepExecution[],
  target: AnyWorkflow,
  source: AnyWorkflow | null,
): Promise<MigrationMismatch[]> {
  const mismatches: MigrationMismatch[] = []
  const problem = async (schema: StandardSchemaV1 | null, value: unknown, what: string): Promise<string | null> => {
    if (!schema) return null
    try {
      await validate(schema, value, what)
      return null
    } catch (err) {
      if (isGorkflowError(err, 'VALIDATION_ERROR')) return err.message
      throw err
    }
  }
  const inputProblem = await problem(target.inputSchema, run.input, `the run input, under version ${target.version}`)
  if (inputProblem) mismatches.push({ stepId: null, problem: inputProblem })

  const reused = reusedSteps(steps)
  const done = new Set(reused.map((s) => s.stepId))
  for (const step of reused) {
    // A map's item is checked against the item step of the target's map of that id; a map's own record holds arrays.
    const item = parseMapItemId(step.stepId)
    const map = item === null ? undefined : target.steps.find((n) => n.id === item.mapId && n.map !== null)
    if (map) {
      const found = await Promise.all([
        problem(map.step.inputSchema, step.input, `its recorded input, under version ${target.version}`),
        problem(map.step.outputSchema, step.output, `its recorded output, under version ${target.version}`),
      ])
      for (const p of found) if (p) mismatches.push({ stepId: step.stepId, problem: p })
      continue
    }
    const node = target.steps.find((n) => n.id === step.stepId)
    if (!node) {
      mismatches.push({ stepId: step.stepId, problem: `completed here, but version ${target.version} has no such step` })
      continue
    }
    const before = source?.steps.find((n) => n.id === step.stepId)
    if (before && nodeKind(before) !== nodeKind(node)) {
      mismatches.push({ stepId: step.stepId, problem: `a ${nodeKind(before)} here, a ${nodeKind(node)} in version ${target.version}` })
      continue
    }
    const missing = node.predecessors.filter((p) => !done.has(p))
    if (missing.length > 0) {
      mismatches.push({
        stepId: step.stepId,
        problem: `in version ${target.version} it comes after ${missing.join(', ')}, which did not complete in this run`,
      })
    }
    const checks =
      node.map !== null
        ? []
        : node.wait?.kind === 'event'
        ? [problem(node.wait.schema, step.output, `its recorded event payload, under version ${target.version}`)]
        : node.wait
          ? []
          : [
              problem(node.step.inputSchema, step.input, `its recorded input, under version ${target.version}`),
              step.status === 'COMPLETED'
                ? problem(node.step.outputSchema, step.output, `its recorded output, under version ${target.version}`)
                : Promise.resolve(null),
            ]
    for (const found of await Promise.all(checks)) if (found) mismatches.push({ stepId: step.stepId, problem: found })
  }
  return mismatches
}
