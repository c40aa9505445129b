/**
 * @module
 * `transitionRun` (pause, resume) on DynamoDB: one conditional UpdateItem. The due key moves with the status
 * (PENDING and RUNNING keep `dueAt`, PAUSED keeps `parkedDueAt`), so the write depends on which kind of status
 * the run leaves; a `from` that mixes both kinds is tried one kind at a time.
 */
import { InvalidArgumentError, RunAlreadyFinishedError, RunNotFoundError, RunStateConflictError } from '../../core/errors'
import { isTerminalRunStatus, type RunRecord, type RunStatus } from '../../core/model'
import type { RunTransition } from '../../core/store'
import { isClaimableStatus } from '../rules'
import { Expression, UpdateClauses } from './expression'
import { ATTR, PK } from './keys'
import { fromRunItem, n, RUN, s } from './mappers'
import type { StoreContext } from './store-context'
import { REPLAN_ATTEMPTS } from './table'

export async function transitionRun({ table, hints }: StoreContext, runId: string, transition: RunTransition): Promise<RunRecord> {
  const { from, to, now } = transition
  if (isTerminalRunStatus(to)) {
    // Ending a run also stamps retention, cancels open steps and releases its slot: cancelRun and commit do that.
    throw new InvalidArgumentError(`transitionRun moves a run between open statuses; ${to} is terminal (use cancelRun)`)
  }
  const groups = [from.filter((status) => isClaimableStatus(status)), from.filter((status) => status === 'PAUSED')].filter(
    (group) => group.length > 0,
  )
  let group: readonly RunStatus[] | undefined = groups[0]
  for (let attempt = 1; group !== undefined; attempt++) {
    const leaving = group
    const expr = new Expression()
    const update = new UpdateClauses(expr).set(ATTR.runStatus, s(to)).set(RUN.updatedAt, n(now))
    const wasSweepable = isClaimableStatus(leaving[0] as RunStatus)
    if (wasSweepable !== isClaimableStatus(to)) {
      // SET parkedDueAt = dueAt REMOVE dueAt (or back): one UpdateItem moves the due time without reading it.
      const [source, target] = wasSweepable ? [ATTR.dueAt, RUN.parkedDueAt] : [RUN.parkedDueAt, ATTR.dueAt]
      update.setOperand(target, `if_not_exists(${expr.name(source)}, ${expr.value(n(0))})`).remove(source)
    }
    const condition = `attribute_exists(${expr.name(PK)}) AND ${expr.in(ATTR.runStatus, leaving)}`
    const result = await table.updateRunItem('transitionRun', runId, update, condition)
    if (result.ok) {
      hints.rememberStatus(runId, to)
      return fromRunItem(result.written)
    }
    const old = fromRunItem(result.old)
    // The SDK retried after a lost reply and found this very transition: it succeeded.
    if (old.status === to && old.updatedAt === now) return old
    if (isTerminalRunStatus(old.status)) throw new RunAlreadyFinishedError(runId, old.status)
    const other = groups.find((g) => g !== leaving && g.includes(old.status))
    if (other === undefined || attempt >= REPLAN_ATTEMPTS) {
      throw new RunStateConflictError(runId, old.status, `run ${runId} is ${old.status}, not ${from.join(' or ')}`)
    }
    group = other
  }
  // `from` names no open status: whatever the run is, it is not in `from`.
  const run = await table.findRun(runId)
  if (run === null) throw new RunNotFoundError(runId)
  if (isTerminalRunStatus(run.status)) throw new RunAlreadyFinishedError(runId, run.status)
  throw new RunStateConflictError(runId, run.status, `run ${runId} is ${run.status}, not ${from.join(' or ') || 'in any status'}`)
}
