/**
 * @module
 * One run: status and facts, the run's error with its step, the DAG coloured by step status, the timeline,
 * every step's attempts, error, input and output, and the run's input, output and state. Live runs get a
 * Cancel button and refresh themselves.
 */
import type { Json, RunRecord, StepExecution } from '../../core/model'
import { isFinishedStepStatus, isTerminalRunStatus } from '../../core/model'
import type { AnyWorkflow, WorkflowNode } from '../../core/workflow'
import { CSRF_FIELD } from './csrf'
import { DagSvg, workflowNodeLabel, type DagNodeView } from './dag-svg'
import { anchorId, formatAbsolute, formatDuration, formatJson, formatRelative, formatWaitingFor } from './format'
import { Layout } from './layout'
import type { PageContext } from './page-context'
import { runFingerprint } from './refresh'
import { runDuration } from './runs-page'
import { StatusBadge } from './status'
import { Timeline } from './timeline'

/** Messages the page can show after a redirect, chosen by a fixed key (never echoed from the URL). */
export const RUN_NOTICES = {
  cancelled: 'Cancellation recorded.',
  'already-finished': 'The run had already finished; nothing was cancelled.',
  started: 'Run started.',
} as const
export type RunNotice = keyof typeof RUN_NOTICES

export interface RunPageProps {
  readonly ctx: PageContext
  readonly run: RunRecord
  readonly steps: readonly StepExecution[]
  readonly state: Readonly<Record<string, Json>>
  /** The run's workflow, or null when this deployment does not register it (the graph then has no edges). */
  readonly workflow: AnyWorkflow | null
  readonly notice?: RunNotice | undefined
  readonly refreshMs: number
}

export function RunPage(props: RunPageProps) {
  const { ctx, run, steps, workflow } = props
  const live = !isTerminalRunStatus(run.status)
  const byStep = new Map(steps.map((s) => [s.stepId, s]))
  const definitionIds = workflow?.steps.map((s) => s.id) ?? []
  // Executions of steps the current definition lacks (an older version) are still shown.
  const orderedIds = [...definitionIds, ...steps.map((s) => s.stepId).filter((id) => !definitionIds.includes(id))]
  const definitions = new Map(workflow?.steps.map((s) => [s.id, s]) ?? [])
  const nodes: DagNodeView[] = orderedIds.map((id) => ({
    id,
    label: definitions.has(id) ? workflowNodeLabel(definitions.get(id) as WorkflowNode) : id,
    status: byStep.get(id)?.status ?? 'NOT_STARTED',
    href: `#${anchorId('step', id)}`,
  }))
  const edges = workflow?.edges ?? []
  const duration = runDuration(run, ctx.now)
  const percent = Math.round(run.progress * 100)
  return (
    <Layout
      ctx={ctx}
      title={`Run ${run.runId}`}
      section="runs"
      refreshMs={live ? props.refreshMs : undefined}
      fingerprint={runFingerprint(run)}
    >
      <p>
        <a href={`${ctx.base}/runs`}>← All runs</a>
      </p>
      <h1>
        Run <span class="mono">{run.runId}</span>
      </h1>
      {props.notice === undefined ? null : (
        <p class="notice" role="status">
          {RUN_NOTICES[props.notice]}
        </p>
      )}
      <div class="actions">
        <StatusBadge status={run.status} />
        <span class="progress">
          <progress max="100" value={String(percent)} aria-label="Run progress">
            {percent} %
          </progress>{' '}
          {percent} %
        </span>
        {live && ctx.csrf !== null ? (
          <form method="post" action={`${ctx.base}/runs/${encodeURIComponent(run.runId)}/cancel`}>
            <input type="hidden" name={CSRF_FIELD} value={ctx.csrf} />
            <button type="submit" class="danger">
              Cancel run
            </button>
          </form>
        ) : null}
      </div>
      {run.waitingFor === null || !live ? null : (
        <p class="notice" role="status">
          {formatWaitingFor(run.waitingFor, ctx.now)}.
        </p>
      )}
      <dl class="facts">
        <dt>Workflow</dt>
        <dd>
          {workflow === null ? (
            `${run.workflowId} (not registered here)`
          ) : (
            <a href={`${ctx.base}/workflows/${encodeURIComponent(run.workflowId)}`}>{run.workflowId}</a>
          )}{' '}
          <span class="muted">version {run.workflowVersion}</span>
        </dd>
        <TimeFact label="Created" at={run.createdAt} now={ctx.now} />
        <TimeFact label="Started" at={run.startedAt} now={ctx.now} />
        <TimeFact label="Completed" at={run.completedAt} now={ctx.now} />
        <dt>Duration</dt>
        <dd>{duration === null ? 'not started' : `${formatDuration(duration)}${live ? ' so far' : ''}`}</dd>
        {run.wakeAt === null ? null : <TimeFact label="Resumes" at={run.wakeAt} now={ctx.now} />}
        <dt>Resource</dt>
        <dd>
          {run.resourceId ?? '—'}
          {run.concurrencyLimit === null ? null : (
            <span class="muted"> (at most {run.concurrencyLimit} running at once per resource)</span>
          )}
        </dd>
        {run.retryOf === null ? null : (
          <>
            <dt>Retry of</dt>
            <dd>
              <a class="mono" href={`${ctx.base}/runs/${encodeURIComponent(run.retryOf)}`}>{run.retryOf}</a>
            </dd>
          </>
        )}
        {run.retriedBy === null ? null : (
          <>
            <dt>Retried by</dt>
            <dd>
              <a class="mono" href={`${ctx.base}/runs/${encodeURIComponent(run.retriedBy)}`}>{run.retriedBy}</a>
            </dd>
          </>
        )}
        {Object.keys(run.tags).length === 0 ? null : (
          <>
            <dt>Tags</dt>
            <dd>
              {Object.entries(run.tags).map(([k, v]) => (
                <code>{`${k}=${v} `}</code>
              ))}
            </dd>
          </>
        )}
        {run.idempotencyKey === null ? null : (
          <>
            <dt>Idempotency key</dt>
            <dd class="mono">{run.idempotencyKey}</dd>
          </>
        )}
      </dl>

      {run.error === null ? null : (
        <section class="error-box" aria-labelledby="run-error">
          <h2 id="run-error">Run error</h2>
          <p>
            <code>{run.error.code}</code>: {run.error.message}
          </p>
          <p>
            {run.error.step === null ? (
              'Not caused by a step.'
            ) : (
              <>
                At step <a href={`#${anchorId('step', run.error.step)}`}>{run.error.step}</a>
              </>
            )}{' '}
            · {formatAbsolute(run.error.timestamp)}
          </p>
          {run.error.details === undefined ? null : <pre>{formatJson(run.error.details)}</pre>}
        </section>
      )}

      <h2>Graph</h2>
      <DagSvg domId="run-dag" caption={`Steps of run ${run.runId} by status`} nodes={nodes} edges={edges} />

      <h2>Timeline</h2>
      <Timeline steps={steps} now={ctx.now} />

      <h2>Steps</h2>
      <div class="steps">
        {orderedIds.map((id) => (
          <StepDetails id={id} step={byStep.get(id)} now={ctx.now} />
        ))}
      </div>

      <h2>Input</h2>
      <pre aria-label="Run input">{formatJson(run.input)}</pre>
      <h2>Output</h2>
      {run.status === 'COMPLETED' ? (
        <pre aria-label="Run output">{formatJson(run.output)}</pre>
      ) : (
        <p class="muted">No output: the run is {run.status}.</p>
      )}
      <h2>State</h2>
      {Object.keys(props.state).length === 0 ? (
        <p class="muted">No state keys.</p>
      ) : (
        <pre aria-label="Run state">{formatJson(props.state)}</pre>
      )}
    </Layout>
  )
}

function TimeFact(props: { label: string; at: number | null; now: number }) {
  return (
    <>
      <dt>{props.label}</dt>
      <dd>
        {props.at === null ? (
          '—'
        ) : (
          <>
            <time datetime={new Date(props.at).toISOString()}>{formatAbsolute(props.at)}</time>{' '}
            <span class="muted">({formatRelative(props.at, props.now)})</span>
          </>
        )}
      </dd>
    </>
  )
}

function StepDetails(props: { id: string; step: StepExecution | undefined; now: number }) {
  const { id, step } = props
  const anchor = anchorId('step', id)
  if (!step) {
    return (
      <details id={anchor}>
        <summary>
          <span class="step-id">{id}</span> <StatusBadge status="NOT_STARTED" />
        </summary>
        <p class="muted">This step has not started.</p>
      </details>
    )
  }
  const attempts = step.attempt + 1
  const failed = step.status === 'FAILED' || step.status === 'RETRYING'
  const duration = step.status === 'RUNNING' && step.startedAt !== null ? props.now - step.startedAt : step.durationMs
  return (
    <details id={anchor} open={failed}>
      <summary>
        <span class="step-id">{id}</span> <StatusBadge status={step.status} />
        <span class="muted">
          {step.status === 'SKIPPED'
            ? 'not run: its condition was false'
            : `${attempts} attempt${attempts === 1 ? '' : 's'} · ${formatDuration(duration)}${step.status === 'RUNNING' ? ' so far' : ''}`}
        </span>
      </summary>
      <dl class="facts">
        <dt>Attempts</dt>
        <dd>
          {attempts}
          {attempts > 1 ? ` (${attempts - 1} ${attempts === 2 ? 'retry' : 'retries'})` : ''}
          {step.status === 'RETRYING' ? ', waiting to retry' : ''}
        </dd>
        <dt>First attempt</dt>
        <dd>{formatAbsolute(step.createdAt)}</dd>
        <dt>Latest attempt</dt>
        <dd>{step.startedAt === null ? '—' : formatAbsolute(step.startedAt)}</dd>
        {step.wakeAt === null || isFinishedStepStatus(step.status) ? null : (
          <>
            <dt>Continues</dt>
            <dd>
              {formatAbsolute(step.wakeAt)} <span class="muted">({formatRelative(step.wakeAt, props.now)})</span>
            </dd>
          </>
        )}
        <dt>Finished</dt>
        <dd>{step.completedAt === null ? '—' : formatAbsolute(step.completedAt)}</dd>
        <dt>Duration</dt>
        <dd>{formatDuration(duration)} (latest attempt)</dd>
      </dl>
      {step.error === null ? null : (
        <div class="error-box">
          <h3>Error of attempt {step.error.attempt + 1}</h3>
          <p>
            <code>{step.error.code}</code>: {step.error.message}
          </p>
          <p class="muted">{formatAbsolute(step.error.timestamp)}</p>
          {step.error.details === undefined ? null : <pre>{formatJson(step.error.details)}</pre>}
        </div>
      )}
      <h3>Input</h3>
      <pre>{formatJson(step.input)}</pre>
      {step.status === 'COMPLETED' || step.status === 'SKIPPED' ? (
        <>
          <h3>Output</h3>
          <pre>{formatJson(step.output)}</pre>
        </>
      ) : null}
    </details>
  )
}
