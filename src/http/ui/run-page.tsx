/**
 * @module
 * One run: status and facts, the run's error with its step, the DAG coloured by step status, the timeline,
 * every step's attempts, error, input and output, and the run's input, output and state. Live runs get
 * Pause or Resume and Cancel buttons, a form to send the events their workflow waits for, and refresh
 * themselves; a FAILED run that was not retried yet gets a Retry form. Long runs stay usable: the step list and
 * the timeline show one page of {@link STEPS_PER_PAGE} steps, and the graph folds long chains (dag-collapse.ts).
 */
import type { ChildRunSummary } from '../../core/engine'
import type { MigrationMismatch, ValidationIssue } from '../../core/errors'
import type { Json, RunRecord, StepExecution, WebhookDelivery } from '../../core/model'
import { isFinishedStepStatus, isTerminalRunStatus } from '../../core/model'
import { inputJsonSchema } from '../../core/schema'
import { countMapItems, mapNodeIds, splitMapItems, type MapItemCounts } from '../../core/map-items'
import type { AnyWorkflow, WorkflowNode } from '../../core/workflow'
import { CSRF_FIELD } from './csrf'
import { DagSvg, workflowNodeLabel, type DagNodeView } from './dag-svg'
import { runDue } from './run-due'
import { anchorId, formatAbsolute, formatDuration, formatJson, formatRelative, formatWaitingFor } from './format'
import { exampleFromJsonSchema } from './json-example'
import { Layout } from './layout'
import type { PageContext } from './page-context'
import { runFingerprint } from './refresh'
import { runDuration } from './runs-page'
import { StatusBadge } from './status'
import { Timeline } from './timeline'
import { UserText } from './user-text'

/** Messages the page can show after a redirect, chosen by a fixed key (never echoed from the URL). */
export const RUN_NOTICES = {
  cancelled: 'Cancellation recorded.',
  'already-finished': 'The run had already finished; nothing was cancelled.',
  started: 'Run started.',
  paused: 'Paused. A step that was running finishes and is recorded; nothing new starts until you resume.',
  'already-paused': 'The run was already paused; nothing changed.',
  resumed: 'Resumed. The run continues.',
  'not-paused': 'The run was not paused; nothing changed.',
  finished: 'The run had already finished; nothing changed.',
  'event-sent': 'Event delivered. A run waiting for it continues at once.',
  retried: 'Retry started: steps that completed in the failed run are reused, not run again.',
  'not-retryable': 'Only a FAILED run that was not retried yet can be retried; nothing was started.',
  'unknown-step': 'That step is not part of this workflow; nothing was retried.',
  migrated: 'Moved to another version: this new run reuses the completed steps of the old one, which was cancelled.',
  'unknown-version': 'That version is not registered here; nothing changed.',
  'not-migratable': 'Only a run that has not completed, and was not retried or moved yet, can move; nothing changed.',
  'same-version': 'The run already runs on that version; nothing changed.',
} as const
export type RunNotice = keyof typeof RUN_NOTICES

/** Steps per page of a run's step list and timeline: a 10,000-step run is 100 pages, not one 50 MB page. */
export const STEPS_PER_PAGE = 100

/** What the user sent with the event form and why it was refused. */
export interface EventFormState {
  readonly name: string
  readonly payload: string
  readonly error: {
    /** The field the problem is in. */
    readonly field: 'name' | 'payload'
    readonly message: string
    readonly issues: readonly ValidationIssue[]
  }
}

/** A refused move to another version, as the run page lists it. */
export interface RunPageMigration {
  readonly version: string
  readonly mismatches: readonly MigrationMismatch[]
}

export interface RunPageProps {
  readonly ctx: PageContext
  readonly run: RunRecord
  readonly steps: readonly StepExecution[]
  readonly state: Readonly<Record<string, Json>>
  /** The definition the run runs on, or null when this deployment does not register it (the graph then has no edges). */
  readonly workflow: AnyWorkflow | null
  /** Every version of the run's workflow registered here: where it can be moved. */
  readonly versions: readonly AnyWorkflow[]
  /** Set when a move to another version was refused: the reasons are listed by the form. */
  readonly migration?: RunPageMigration | undefined
  readonly notice?: RunNotice | undefined
  /** Set when a sent event was refused: the form shows the problem and keeps what was typed. */
  readonly eventForm?: EventFormState | undefined
  readonly refreshMs: number
  /** 1-based page of the step list (`?steps=`); past the last page shows the last. @default 1 */
  readonly stepsPage?: number | undefined
  /** Set when `?steps=` was not a page number: the first page is shown with this message. */
  readonly stepsPageError?: string | undefined
  /** The child runs this run started (README "Child workflows"). @default [] */
  readonly childRuns?: readonly ChildRunSummary[] | undefined
}

export function RunPage(props: RunPageProps) {
  const { ctx, run, workflow } = props
  // A map's items are counted on its node, never drawn or listed one by one (README "Map over an array").
  const { nodes: steps, items: mapItems } = splitMapItems(props.steps, mapNodeIds(workflow))
  const live = !isTerminalRunStatus(run.status)
  const byStep = new Map(steps.map((s) => [s.stepId, s]))
  const definitionIds = workflow?.steps.map((s) => s.id) ?? []
  // Executions of steps the current definition lacks (an older version) are still shown.
  const defined = new Set(definitionIds)
  const orderedIds = [...definitionIds, ...steps.map((s) => s.stepId).filter((id) => !defined.has(id))]
  const definitions = new Map(workflow?.steps.map((s) => [s.id, s]) ?? [])
  const pages = Math.max(1, Math.ceil(orderedIds.length / STEPS_PER_PAGE))
  const page = Math.min(Math.max(1, props.stepsPage ?? 1), pages)
  const pageIds = orderedIds.slice((page - 1) * STEPS_PER_PAGE, page * STEPS_PER_PAGE)
  const onPage = new Set(pageIds)
  const position = new Map(orderedIds.map((id, i) => [id, i]))
  // A step on another page is linked through that page.
  const stepHref = (id: string) => {
    const p = Math.floor((position.get(id) ?? 0) / STEPS_PER_PAGE) + 1
    return `${p === page ? '' : `?steps=${p}`}#${anchorId('step', id)}`
  }
  const itemCounts = new Map<string, MapItemCounts>()
  for (const step of steps) {
    if (mapItems.has(step.stepId) || definitions.get(step.stepId)?.map) {
      itemCounts.set(step.stepId, countMapItems(step, mapItems.get(step.stepId) ?? []))
    }
  }
  const nodes: DagNodeView[] = orderedIds.map((id) => {
    const counts = itemCounts.get(id)
    const label = definitions.has(id) ? workflowNodeLabel(definitions.get(id) as WorkflowNode) : id
    return {
      id,
      label: counts === undefined ? label : `${label} ×${counts.total.toLocaleString('en')}`,
      status: byStep.get(id)?.status ?? 'NOT_STARTED',
      href: stepHref(id),
      ...(counts === undefined ? {} : { detail: mapCountsText(counts) }),
    }
  })
  const edges = workflow?.edges ?? []
  const duration = runDuration(run, ctx.now)
  const due = runDue(run, ctx.now)
  const percent = Math.round(run.progress * 100)
  const runPath = `${ctx.base}/runs/${encodeURIComponent(run.runId)}`
  const eventWaits = workflow?.steps.filter((n) => n.wait?.kind === 'event') ?? []
  return (
    <Layout
      ctx={ctx}
      title={`Run ${run.runId}`}
      section="runs"
      // A refused event form is shown at the form's POST address, which a reload must not fetch; and a
      // reload would drop what the user typed.
      refreshMs={live && props.eventForm === undefined ? props.refreshMs : undefined}
      fingerprint={runFingerprint(run)}
      stream={{ url: `${ctx.base}/runs/${encodeURIComponent(run.runId)}/stream`, updatedAt: run.updatedAt }}
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
        {run.waitingFor?.kind === 'version' && live ? (
          <span class="badge version-wait">waiting for version {run.waitingFor.version}</span>
        ) : null}
        <span class="progress">
          <progress max="100" value={String(percent)} aria-label="Run progress">
            {percent} %
          </progress>{' '}
          {percent} %
        </span>
        {live && run.status !== 'PAUSED' && ctx.csrf !== null ? (
          <ActionForm action={`${runPath}/pause`} csrf={ctx.csrf} label="Pause run" kind="secondary" />
        ) : null}
        {run.status === 'PAUSED' && ctx.csrf !== null ? (
          <ActionForm action={`${runPath}/resume`} csrf={ctx.csrf} label="Resume run" />
        ) : null}
        {live && ctx.csrf !== null ? (
          <ActionForm action={`${runPath}/cancel`} csrf={ctx.csrf} label="Cancel run" kind="danger" />
        ) : null}
        {run.status === 'FAILED' && run.retriedBy === null && ctx.csrf !== null ? (
          <form method="post" action={`${runPath}/retry`} class="inline-form">
            <input type="hidden" name={CSRF_FIELD} value={ctx.csrf} />
            {workflow === null ? null : (
              <span>
                <label for="retry-from">Retry from</label>
                <select id="retry-from" name="fromStep">
                  <option value="">the failed step</option>
                  {workflow.steps.map((n) => (
                    <option value={n.id}>step {n.id} onwards</option>
                  ))}
                </select>
              </span>
            )}
            <button type="submit">Retry run</button>
          </form>
        ) : null}
      </div>
      {run.status === 'PAUSED' ? (
        <p class="notice" role="status">
          Paused: nothing new starts until the run is resumed.
          {run.waitingFor === null ? null : ' Its wait keeps its deadline and is acted on after resume.'}
        </p>
      ) : null}
      {run.waitingFor === null || !live ? null : (
        <p class={run.waitingFor.kind === 'version' ? 'notice warn' : 'notice'} role="status">
          {formatWaitingFor(run.waitingFor, ctx.now)}.
        </p>
      )}
      {due?.late ? (
        <p class="notice late" role="status" data-late="true">
          Late: due {formatRelative(due.dueAt, ctx.now)} and not running yet. A server's sweeper takes it when it next
          looks; if none is running, start one.
        </p>
      ) : null}
      {run.status !== 'COMPLETED' && run.retriedBy === null && ctx.csrf !== null ? (
        <MigrateForm action={`${runPath}/migrate`} csrf={ctx.csrf} run={run} versions={props.versions} refused={props.migration} />
      ) : null}
      {live && eventWaits.length > 0 && ctx.csrf !== null ? (
        <SendEventForm action={`${runPath}/events`} csrf={ctx.csrf} run={run} waits={eventWaits} form={props.eventForm} />
      ) : null}
      <dl class="facts">
        <dt>Workflow</dt>
        <dd>
          {workflow === null ? (
            `${run.workflowId} (not registered here)`
          ) : (
            <a href={`${ctx.base}/workflows/${encodeURIComponent(run.workflowId)}`}>{run.workflowId}</a>
          )}{' '}
          <span class="muted">
            version {run.workflowVersion}
            {run.workflowFingerprint === null ? null : (
              <>
                {' '}· graph <span class="mono">{run.workflowFingerprint}</span>
              </>
            )}
          </span>
        </dd>
        <TimeFact label="Created" at={run.createdAt} now={ctx.now} />
        <TimeFact label="Started" at={run.startedAt} now={ctx.now} />
        <TimeFact label="Completed" at={run.completedAt} now={ctx.now} />
        <dt>Duration</dt>
        <dd>{duration === null ? 'not started' : `${formatDuration(duration)}${live ? ' so far' : ''}`}</dd>
        {due === null ? null : (
          <>
            <TimeFact label="Due" at={due.dueAt} now={ctx.now} />
            {due.late ? <dd class="late">late</dd> : null}
          </>
        )}
        <dt>Resource</dt>
        <dd>
          {run.resourceId === null ? '—' : <UserText value={run.resourceId} />}
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
        {run.parentRunId === null ? null : (
          <>
            <dt>Parent run</dt>
            <dd>
              <a class="mono" href={`${ctx.base}/runs/${encodeURIComponent(run.parentRunId)}`}>{run.parentRunId}</a>
            </dd>
          </>
        )}
        {(props.childRuns ?? []).length === 0 ? null : (
          <>
            <dt>Child runs</dt>
            <dd>
              {(props.childRuns ?? []).map((child) => (
                <div>
                  <UserText value={child.stepId} /> →{' '}
                  <a class="mono" href={`${ctx.base}/runs/${encodeURIComponent(child.runId)}`}>{child.runId}</a>{' '}
                  <span class="muted">
                    (<UserText value={child.workflowId} />, {child.status})
                  </span>
                </div>
              ))}
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
                <>
                  <code>
                    <UserText value={k} />=<UserText value={v} />
                  </code>{' '}
                </>
              ))}
            </dd>
          </>
        )}
        {run.idempotencyKey === null ? null : (
          <>
            <dt>Idempotency key</dt>
            <dd class="mono">
              <UserText value={run.idempotencyKey} />
            </dd>
          </>
        )}
        {run.webhook === null ? null : (
          <>
            <dt>Webhook</dt>
            <dd>
              <span class="mono">
                <UserText value={run.webhook.url} />
              </span>{' '}
              <span class="muted" data-webhook>
                {webhookSummary(run.webhook)}
              </span>
            </dd>
          </>
        )}
      </dl>

      {run.error === null ? null : (
        <section class="error-box" aria-labelledby="run-error">
          <h2 id="run-error">Run error</h2>
          <p>
            <code>{run.error.code}</code>: <UserText value={run.error.message} />
          </p>
          <p>
            {run.error.step === null ? (
              'Not caused by a step.'
            ) : (
              <>
                At step <a href={stepHref(run.error.step)}>{run.error.step}</a>
              </>
            )}{' '}
            · {formatAbsolute(run.error.timestamp)}
          </p>
          {run.error.details === undefined ? null : <pre>{formatJson(run.error.details)}</pre>}
        </section>
      )}

      <h2>Graph</h2>
      <DagSvg domId="run-dag" caption={`Steps of run ${run.runId} by status`} nodes={nodes} edges={edges} />

      <h2 id="steps">{pages === 1 ? 'Timeline' : 'Timeline of this page\'s steps'}</h2>
      {props.stepsPageError === undefined ? null : (
        <p class="error-box" role="alert">
          {props.stepsPageError}
        </p>
      )}
      <StepPager page={page} pages={pages} total={orderedIds.length} />
      <Timeline steps={pages === 1 ? steps : steps.filter((s) => onPage.has(s.stepId))} now={ctx.now} />

      <h2>Steps</h2>
      <div class="steps">
        {pageIds.map((id) => (
          <StepDetails id={id} step={byStep.get(id)} now={ctx.now} items={itemCounts.get(id)} failedItems={failedItemsOf(mapItems.get(id))} />
        ))}
      </div>
      <StepPager page={page} pages={pages} total={orderedIds.length} />

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

/** Where this page of steps sits among all of them, with links to the neighbouring pages. */
function StepPager(props: { page: number; pages: number; total: number }) {
  const { page, pages, total } = props
  if (pages <= 1) return null
  const first = (page - 1) * STEPS_PER_PAGE + 1
  const last = Math.min(page * STEPS_PER_PAGE, total)
  return (
    <nav class="pager" aria-label="Step pages">
      {page > 1 ? (
        <a href={`?steps=${page - 1}#steps`} rel="prev">
          ← Previous steps
        </a>
      ) : null}
      <span>
        Steps {first.toLocaleString('en')}–{last.toLocaleString('en')} of {total.toLocaleString('en')} (page {page} of{' '}
        {pages})
      </span>
      {page < pages ? (
        <a href={`?steps=${page + 1}#steps`} rel="next">
          Next steps →
        </a>
      ) : null}
    </nav>
  )
}

function ActionForm(props: { action: string; csrf: string; label: string; kind?: 'secondary' | 'danger' }) {
  return (
    <form method="post" action={props.action}>
      <input type="hidden" name={CSRF_FIELD} value={props.csrf} />
      <button type="submit" class={props.kind}>
        {props.label}
      </button>
    </form>
  )
}

/**
 * Delivers an event to the run. The name is prefilled with the event the run waits for (else the first one
 * its workflow declares), the payload with an example read off that wait's schema.
 */
function SendEventForm(props: {
  action: string
  csrf: string
  run: RunRecord
  waits: readonly WorkflowNode[]
  form: EventFormState | undefined
}) {
  const { run, waits, form } = props
  const names = waits.flatMap((n) => (n.wait?.kind === 'event' ? [n.wait.name] : []))
  const waitingName = run.waitingFor?.kind === 'event' ? run.waitingFor.name : undefined
  const name = form?.name ?? waitingName ?? names[0] ?? ''
  const wait = waits.find((n) => n.wait?.kind === 'event' && n.wait.name === name)?.wait
  const example = wait?.kind === 'event' ? exampleFromJsonSchema(inputJsonSchema(wait.schema)) : {}
  const payload = form?.payload ?? JSON.stringify(example, null, 2)
  const invalid = (field: 'name' | 'payload') => (form?.error.field === field ? 'true' : undefined)
  return (
    <section aria-labelledby="send-event-h">
      <h2 id="send-event-h">Send an event</h2>
      <form method="post" action={props.action} novalidate>
        <input type="hidden" name={CSRF_FIELD} value={props.csrf} />
        {form === undefined ? null : (
          <div class="error-box" id="event-error" role="alert">
            <p>
              <strong>The event was not delivered.</strong> <UserText value={form.error.message} />
            </p>
            {form.error.issues.length === 0 ? null : (
              <ul>
                {form.error.issues.map((issue) => (
                  <li>
                    {issue.path ? (
                      <code>
                        <UserText value={issue.path} />
                      </code>
                    ) : (
                      'payload'
                    )}
                    : <UserText value={issue.message} />
                  </li>
                ))}
              </ul>
            )}
          </div>
        )}
        <label for="event-name">Event name</label>
        <input
          id="event-name"
          name="name"
          value={name}
          list="event-names"
          autocomplete="off"
          maxlength={100}
          required
          aria-describedby={invalid('name') ? 'event-error' : undefined}
          aria-invalid={invalid('name')}
        />
        <datalist id="event-names">
          {names.map((n) => (
            <option value={n} />
          ))}
        </datalist>
        <label for="event-payload">Payload (JSON)</label>
        <p class="hint" id="event-hint">
          Checked against the schema of the wait before it is stored. Each event name is accepted once per run.
        </p>
        <textarea
          id="event-payload"
          name="payload"
          rows={Math.min(12, Math.max(3, payload.split('\n').length + 1))}
          spellcheck={false}
          autocomplete="off"
          aria-describedby={invalid('payload') ? 'event-error event-hint' : 'event-hint'}
          aria-invalid={invalid('payload')}
        >
          {payload}
        </textarea>
        <div class="actions">
          <button type="submit">Send event</button>
        </div>
      </form>
    </section>
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

/** Failed items shown on a map's details, at most this many: the rest are paged through the API. */
const FAILED_ITEMS_SHOWN = 5

function failedItemsOf(items: readonly StepExecution[] | undefined): StepExecution[] {
  const failed: StepExecution[] = []
  for (const item of items ?? []) {
    if (item.status !== 'FAILED') continue
    failed.push(item)
    if (failed.length === FAILED_ITEMS_SHOWN) break
  }
  return failed
}

function StepDetails(props: {
  id: string
  step: StepExecution | undefined
  now: number
  items?: MapItemCounts | undefined
  failedItems?: readonly StepExecution[]
}) {
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
  // Interrupted attempts are restarts, not retries (docs/decisions.md#interrupted-attempts).
  const retries = step.attempt - step.interruptions
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
          {retries > 0 ? ` (${retries} ${retries === 1 ? 'retry' : 'retries'})` : ''}
          {step.status === 'RETRYING' ? ', waiting to retry' : ''}
        </dd>
        {step.interruptions === 0 ? null : (
          <>
            <dt>Interruptions</dt>
            <dd>
              {step.interruptions} <span class="muted">(attempts cut short by a crash, restart or shutdown; no retry spent)</span>
            </dd>
          </>
        )}
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
        {props.items === undefined ? null : (
          <>
            <dt>Items</dt>
            <dd data-map-items={String(props.items.total)}>
              {props.items.total.toLocaleString('en')}: {mapCountsText(props.items)}{' '}
              <span class="muted">
                (each item's record: <code>GET /v1/runs/…/steps/{props.id}/items</code>)
              </span>
            </dd>
          </>
        )}
      </dl>
      {(props.failedItems ?? []).map((item) => (
        <div class="error-box">
          <h3>Item {item.stepId} failed</h3>
          <p>
            <code>{item.error?.code ?? 'EXECUTION_FAILED'}</code>: <UserText value={item.error?.message ?? 'unknown error'} />
          </p>
        </div>
      ))}
      {step.error === null ? null : (
        <div class="error-box">
          <h3>Error of attempt {step.error.attempt + 1}</h3>
          <p>
            <code>{step.error.code}</code>: <UserText value={step.error.message} />
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

/** Moves the run to another registered version; a refusal lists every mismatch. */
function MigrateForm(props: {
  action: string
  csrf: string
  run: RunRecord
  versions: readonly AnyWorkflow[]
  refused: RunPageProps['migration']
}) {
  const { run, refused } = props
  const targets = props.versions.filter((wf) => !(wf.version === run.workflowVersion && wf.fingerprint === run.workflowFingerprint))
  if (targets.length === 0) return null
  return (
    <form method="post" action={props.action} class="inline-form">
      <input type="hidden" name={CSRF_FIELD} value={props.csrf} />
      <label for="migrate-version">Move to version</label>
      <select id="migrate-version" name="version" aria-describedby={refused ? 'migrate-error' : undefined}>
        {targets.map((wf) => (
          <option value={wf.version} selected={refused?.version === wf.version}>
            {wf.version} ({wf.fingerprint.slice(0, 8)})
          </option>
        ))}
      </select>
      <button type="submit">Migrate run</button>
      {refused ? (
        <div class="error-box" id="migrate-error" role="alert">
          <p>This run cannot move to version {refused.version}; nothing changed:</p>
          <ul>
            {refused.mismatches.map((m) => (
              <li>
                {m.stepId === null ? null : <strong>step {m.stepId}: </strong>}
                {m.problem}
              </li>
            ))}
          </ul>
        </div>
      ) : null}
    </form>
  )
}

/** A completion webhook's delivery in words (README, "Completion webhooks"). */
function webhookSummary(webhook: WebhookDelivery): string {
  const last = webhook.lastStatus === null ? '' : `, last answer ${webhook.lastStatus === 0 ? 'none' : `HTTP ${webhook.lastStatus}`}`
  const tries = `${webhook.attempts} attempt${webhook.attempts === 1 ? '' : 's'}${last}`
  if (webhook.deliveredAt !== null) return `(delivered ${formatAbsolute(webhook.deliveredAt)}; ${tries})`
  if (webhook.nextAttemptAt === null) return `(given up; ${tries})`
  return webhook.attempts === 0 ? '(sent once the run ends)' : `(retrying from ${formatAbsolute(webhook.nextAttemptAt)}; ${tries})`
}

/** A map's items by status in a few words: `9,950 ✓ 50 running`. */
export function mapCountsText(counts: MapItemCounts): string {
  const n = (status: keyof MapItemCounts['byStatus']) => counts.byStatus[status] ?? 0
  const parts: [number, string][] = [
    [n('COMPLETED'), '✓'],
    [n('FAILED'), '✗'],
    [n('RUNNING') + n('PENDING'), 'running'],
    [n('RETRYING'), 'retrying'],
    [n('CANCELLED'), 'cancelled'],
    [counts.notStarted, 'queued'],
  ]
  const shown = parts.filter(([count]) => count > 0).map(([count, word]) => `${count.toLocaleString('en')} ${word}`)
  return shown.length === 0 ? 'no items' : shown.join(' ')
}
