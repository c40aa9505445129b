/**
 * @module
 * Registered workflows: each with its DAG, its steps and retry settings, its input JSON Schema, and a form
 * that starts a run with JSON input. A rejected start re-renders the workflow with the problems next to
 * the field and the text the user typed kept.
 */
import type { ScheduleView } from '../../core/scheduled-starts'
import type { ValidationIssue } from '../../core/errors'
import { inputJsonSchema } from '../../core/schema'
import type { Inventory, VersionInventory } from '../../core/version-inventory'
import type { AnyWorkflow } from '../../core/workflow'
import { MAX_RESOURCE_ID_LENGTH } from '../limits'
import { CSRF_FIELD } from './csrf'
import { DagSvg, workflowNodeLabel } from './dag-svg'
import { anchorId, formatAbsolute, formatJson, formatRelative } from './format'
import { exampleFromJsonSchema } from './json-example'
import { Layout } from './layout'
import type { PageContext } from './page-context'
import { UserText } from './user-text'

/** What the user submitted and why it was refused. */
export interface StartFormState {
  readonly workflowId: string
  readonly input: string
  readonly resourceId: string
  readonly error: { readonly message: string; readonly issues: readonly ValidationIssue[] }
}

export interface WorkflowsPageProps {
  readonly ctx: PageContext
  readonly workflows: readonly AnyWorkflow[]
  /** Set when the page shows one workflow (`/workflows/:id`). */
  readonly single?: boolean
  readonly form?: StartFormState | undefined
  /** In-flight runs by version, and those of versions (or workflows) no longer registered. */
  readonly inventory: Inventory
  /** The schedules of the workflows shown (`engine.listSchedules()`). */
  readonly schedules: readonly ScheduleView[]
}

export function WorkflowsPage(props: WorkflowsPageProps) {
  const { ctx, workflows } = props
  const title = props.single && workflows[0] ? `Workflow ${workflows[0].id}` : 'Workflows'
  return (
    <Layout ctx={ctx} title={title} section="workflows">
      {props.single ? (
        <p>
          <a href={`${ctx.base}/workflows`}>← All workflows</a>
        </p>
      ) : null}
      <h1>{title}</h1>
      <OrphanWarning ctx={ctx} inventory={props.inventory} />
      {workflows.length === 0 ? <p class="notice">No workflows are registered with this engine.</p> : null}
      {!props.single && workflows.length > 1 ? (
        <nav aria-label="Workflows on this page">
          <ul>
            {workflows.map((wf) => (
              <li>
                <a href={`#${anchorId('wf', wf.id)}`}>{wf.name}</a> <span class="muted mono">{wf.id}</span>
              </li>
            ))}
          </ul>
        </nav>
      ) : null}
      {workflows.map((wf) => (
        <WorkflowSection
          ctx={ctx}
          workflow={wf}
          versions={props.inventory.workflows.find((w) => w.workflowId === wf.id)?.versions ?? []}
          schedule={props.schedules.find((sch) => sch.workflowId === wf.id)}
          form={props.form?.workflowId === wf.id ? props.form : undefined}
        />
      ))}
    </Layout>
  )
}

/** One warning above everything when in-flight runs wait for a version (or a workflow) not registered here. */
function OrphanWarning(props: { ctx: PageContext; inventory: Inventory }) {
  const orphaned = props.inventory.workflows.flatMap((w) =>
    w.versions.filter((v) => !v.registered && v.inFlight > 0).map((v) => ({ workflowId: w.workflowId, ...v })),
  )
  if (orphaned.length === 0) return null
  const runs = orphaned.reduce((sum, v) => sum + v.inFlight, 0)
  return (
    <div class="notice warn" role="alert">
      <p>
        <strong>
          {runs} in-flight run{runs === 1 ? '' : 's'} of versions not registered here
          {props.inventory.truncated ? ' (at least)' : ''}.
        </strong>{' '}
        This deployment never executes them: they wait for a deployment that has their version. Keep the old version
        registered until its runs drain, or open a run to migrate or cancel it.
      </p>
      <ul>
        {orphaned.map((v) => (
          <li>
            {v.workflowId} version {v.version} <span class="mono muted">{v.fingerprint ?? 'no fingerprint'}</span>:{' '}
            {v.inFlight} run{v.inFlight === 1 ? '' : 's'} —{' '}
            {v.orphanRunIds.map((id, i) => (
              <>
                {i > 0 ? ', ' : ''}
                <a class="mono" href={`${props.ctx.base}/runs/${encodeURIComponent(id)}`}>{id.slice(0, 8)}</a>
              </>
            ))}
          </li>
        ))}
      </ul>
    </div>
  )
}

/** The versions of one workflow: what is registered, where new runs start, and what still runs on each. */
function VersionsTable(props: { versions: readonly VersionInventory[] }) {
  return (
    <table class="versions">
      <caption>Versions and their in-flight runs</caption>
      <thead>
        <tr>
          <th scope="col">Version</th>
          <th scope="col">Graph fingerprint</th>
          <th scope="col">Here</th>
          <th scope="col">In flight</th>
        </tr>
      </thead>
      <tbody>
        {props.versions.map((v) => (
          <tr>
            <td data-label="Version">{v.version}</td>
            <td data-label="Graph" class="mono">{v.fingerprint ?? '—'}</td>
            <td data-label="Here">
              {v.current ? 'registered, current (new runs start here)' : v.registered ? 'registered' : (
                <span class="badge version-wait">not registered</span>
              )}
            </td>
            <td data-label="In flight">{v.inFlight}</td>
          </tr>
        ))}
      </tbody>
    </table>
  )
}

/** A workflow's cron schedule: when it fires next, when it last fired, and a pause or resume button. */
function ScheduleBlock(props: { ctx: PageContext; workflowId: string; schedule: ScheduleView }) {
  const { ctx, schedule } = props
  const action = schedule.paused ? 'resume' : 'pause'
  return (
    <>
      <h3>Schedule</h3>
      <p>
        <code>{schedule.cron}</code> ({schedule.timezone ?? 'UTC'}) · missed ticks:{' '}
        {schedule.missed === 'skip' ? 'skipped' : 'the last one caught up'} ·{' '}
        {schedule.paused ? (
          <span class="badge">paused</span>
        ) : schedule.nextFireAt === null ? (
          'no further ticks'
        ) : (
          <>
            next run <time datetime={new Date(schedule.nextFireAt).toISOString()}>{formatAbsolute(schedule.nextFireAt)}</time>{' '}
            <span class="muted">({formatRelative(schedule.nextFireAt, ctx.now)})</span>
          </>
        )}
        {schedule.lastFiredAt === null ? null : (
          <span class="muted"> · last fired {formatAbsolute(schedule.lastFiredAt)}</span>
        )}
      </p>
      <form method="post" action={`${ctx.base}/workflows/${encodeURIComponent(props.workflowId)}/schedule/${action}`}>
        <input type="hidden" name={CSRF_FIELD} value={ctx.csrf ?? ''} />
        <button type="submit">{schedule.paused ? 'Resume schedule' : 'Pause schedule'}</button>
      </form>
    </>
  )
}

function WorkflowSection(props: {
  ctx: PageContext
  workflow: AnyWorkflow
  versions: readonly VersionInventory[]
  schedule: ScheduleView | undefined
  form: StartFormState | undefined
}) {
  const { ctx, workflow: wf, form } = props
  const id = anchorId('wf', wf.id)
  const schema = inputJsonSchema(wf.inputSchema)
  const inputId = `${id}-input`
  const errorId = `${id}-error`
  const hintId = `${id}-hint`
  const initialInput = form?.input ?? JSON.stringify(exampleFromJsonSchema(schema), null, 2)
  return (
    <section class="workflow" id={id} aria-labelledby={`${id}-h`}>
      <h2 id={`${id}-h`}>
        {wf.name} <span class="muted mono">{wf.id}</span>
      </h2>
      {wf.description ? <p>{wf.description}</p> : null}
      <p class="muted">
        Version {wf.version} · {wf.steps.length} step{wf.steps.length === 1 ? '' : 's'} ·{' '}
        <a href={`${ctx.base}/runs?workflow=${encodeURIComponent(wf.id)}`}>its runs</a>
        {Object.keys(wf.tags).length > 0 ? ` · tags ${Object.entries(wf.tags).map(([k, v]) => `${k}=${v}`).join(', ')}` : ''}
      </p>
      {props.schedule ? <ScheduleBlock ctx={ctx} workflowId={wf.id} schedule={props.schedule} /> : null}
      <h3>Versions</h3>
      <VersionsTable versions={props.versions} />
      <h3>Graph</h3>
      <DagSvg
        domId={`${id}-dag`}
        caption={`Steps of workflow ${wf.id}`}
        nodes={wf.steps.map((s) => ({ id: s.id, label: workflowNodeLabel(s), status: null }))}
        edges={wf.edges}
      />
      <details>
        <summary>Steps ({wf.steps.length})</summary>
        <ul>
          {wf.steps.map((s) => (
            <li>
              <strong>{s.id}</strong>
              {s.name !== s.id ? ` (${s.name})` : ''}
              {s.description ? ` — ${s.description}` : ''}
              {s.condition ? <span class="muted"> · conditional</span> : null}
              {s.wait?.kind === 'sleep' ? <span class="muted"> · durable sleep</span> : null}
              {s.wait?.kind === 'event' ? <span class="muted"> · waits for event {s.wait.name}</span> : null}
              {s.predecessors.length > 0 ? <span class="muted"> · after {s.predecessors.join(', ')}</span> : null}
            </li>
          ))}
        </ul>
      </details>
      <h3>Input schema</h3>
      {schema === null ? (
        <p class="muted">{wf.inputSchema === null ? 'Any JSON input is accepted.' : 'This schema has no JSON Schema form.'}</p>
      ) : (
        <details>
          <summary>JSON Schema</summary>
          <pre>{formatJson(schema)}</pre>
        </details>
      )}
      <h3>Start a run</h3>
      <form method="post" action={`${ctx.base}/workflows/${encodeURIComponent(wf.id)}/runs`} novalidate>
        <input type="hidden" name={CSRF_FIELD} value={ctx.csrf ?? ''} />
        {form === undefined ? null : (
          <div class="error-box" id={errorId} role="alert">
            <p>
              <strong>The run was not started.</strong> <UserText value={form.error.message} />
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
                      'input'
                    )}
                    : <UserText value={issue.message} />
                  </li>
                ))}
              </ul>
            )}
          </div>
        )}
        <label for={inputId}>Input (JSON)</label>
        <p class="hint" id={hintId}>
          Edit the example; it is checked against the schema above before the run is created.
        </p>
        <textarea
          id={inputId}
          name="input"
          rows={Math.min(16, Math.max(4, initialInput.split('\n').length + 1))}
          spellcheck={false}
          autocomplete="off"
          aria-describedby={form === undefined ? hintId : `${errorId} ${hintId}`}
          aria-invalid={form === undefined ? undefined : 'true'}
        >
          {initialInput}
        </textarea>
        <label for={`${id}-resource`}>
          Resource id <span class="muted">(optional)</span>
        </label>
        <input id={`${id}-resource`} name="resourceId" value={form?.resourceId ?? ''} autocomplete="off" maxlength={MAX_RESOURCE_ID_LENGTH} />
        <div class="actions">
          <button type="submit">Start run</button>
        </div>
      </form>
    </section>
  )
}
