/**
 * @module
 * The runs list: newest first, filtered by workflow, status, resource and tags, paged with the store's cursor.
 * Refreshes itself while any run on the page is not terminal.
 */
import { isTerminalRunStatus, RUN_STATUSES, type RunRecord, type RunStatus } from '../../core/model'
import { MAX_TAG_FILTERS } from '../../core/store'
import { formatAbsolute, formatDuration, formatRelative, shortId } from './format'
import { runDue } from './run-due'
import { Layout } from './layout'
import type { PageContext } from './page-context'
import { runsFingerprint } from './refresh'
import { StatusBadge } from './status'
import { UserText } from './user-text'

/** The list's query parameters, as the filter form sends them. */
export interface RunsQuery {
  readonly workflow: string
  readonly status: RunStatus | ''
  readonly resource: string
  /** `key:value` pairs separated by commas; every one must match (see {@link parseTagFilter}). */
  readonly tags: string
  readonly cursor: string
}

/**
 * The tags of the filter form's text (`env:prod, team:red`), split at each pair's first colon, or why it is not
 * a valid filter.
 */
export function parseTagFilter(text: string): { tags: Record<string, string> } | { error: string } {
  const tags: Record<string, string> = {}
  const pairs = text.split(',').map((pair) => pair.trim()).filter((pair) => pair !== '')
  if (pairs.length > MAX_TAG_FILTERS) return { error: `Filter on at most ${MAX_TAG_FILTERS} tags.` }
  for (const pair of pairs) {
    const colon = pair.indexOf(':')
    if (colon <= 0) return { error: `Tags are written key:value; "${pair}" is not.` }
    const key = pair.slice(0, colon).trim()
    if (Object.hasOwn(tags, key)) return { error: `The tag key "${key}" is given twice.` }
    tags[key] = pair.slice(colon + 1).trim()
  }
  return { tags }
}

export interface RunsPageProps {
  readonly ctx: PageContext
  readonly query: RunsQuery
  readonly workflowIds: readonly string[]
  readonly runs: readonly RunRecord[]
  readonly nextCursor: string | null
  /** A problem with the query (a stale cursor), shown above the table. */
  readonly error?: string | undefined
  readonly refreshMs: number
}

/** The URL of the runs list for a query; empty parameters are left out. */
export function runsHref(base: string, query: Partial<RunsQuery>): string {
  const params = new URLSearchParams()
  if (query.workflow) params.set('workflow', query.workflow)
  if (query.status) params.set('status', query.status)
  if (query.resource) params.set('resource', query.resource)
  if (query.tags) params.set('tags', query.tags)
  if (query.cursor) params.set('cursor', query.cursor)
  const search = params.toString()
  return `${base}/runs${search ? `?${search}` : ''}`
}

/** How long a run has taken: to its end, or until now while it runs; null before it starts. */
export function runDuration(run: RunRecord, now: number): number | null {
  if (run.startedAt === null) return null
  return (run.completedAt ?? now) - run.startedAt
}

export function RunsPage(props: RunsPageProps) {
  const { ctx, query, runs } = props
  const live = runs.some((r) => !isTerminalRunStatus(r.status))
  const filtered = Boolean(query.workflow || query.status || query.resource || query.tags)
  return (
    <Layout
      ctx={ctx}
      title="Runs"
      section="runs"
      refreshMs={live ? props.refreshMs : undefined}
      fingerprint={runsFingerprint(runs, props.nextCursor)}
    >
      <h1>Runs</h1>
      <form class="filters" method="get" action={`${ctx.base}/runs`} role="search" aria-label="Filter runs">
        <div>
          <label for="f-workflow">Workflow</label>
          <select id="f-workflow" name="workflow">
            <option value="">Any workflow</option>
            {props.workflowIds.map((id) => (
              <option value={id} selected={id === query.workflow}>
                {id}
              </option>
            ))}
          </select>
        </div>
        <div>
          <label for="f-status">Status</label>
          <select id="f-status" name="status">
            <option value="">Any status</option>
            {RUN_STATUSES.map((s) => (
              <option value={s} selected={s === query.status}>
                {s}
              </option>
            ))}
          </select>
        </div>
        <div>
          <label for="f-resource">Resource id</label>
          <input id="f-resource" name="resource" value={query.resource} autocomplete="off" />
        </div>
        <div>
          <label for="f-tags">Tags</label>
          <input id="f-tags" name="tags" value={query.tags} placeholder="env:prod, team:red" autocomplete="off" />
        </div>
        <div class="actions">
          <button type="submit">Apply</button>
          {filtered ? (
            <a class="button secondary" href={`${ctx.base}/runs`}>
              Clear
            </a>
          ) : null}
        </div>
      </form>
      {props.error === undefined ? null : (
        <div class="error-box" role="alert">
          {props.error}
        </div>
      )}
      {runs.length === 0 ? (
        <p class="notice">
          {filtered || query.cursor ? 'No runs match.' : 'No runs yet.'}{' '}
          <a href={`${ctx.base}/workflows`}>Start one from a workflow.</a>
        </p>
      ) : (
        <table class="runs">
          <caption class="muted">
            {runs.length} run{runs.length === 1 ? '' : 's'}, newest first{live ? ' · updating while runs are live' : ''}
          </caption>
          <thead>
            <tr>
              <th scope="col">Run</th>
              <th scope="col">Workflow</th>
              <th scope="col">Status</th>
              <th scope="col">Progress</th>
              <th scope="col">Created</th>
              <th scope="col">Duration</th>
              <th scope="col">Resource</th>
            </tr>
          </thead>
          <tbody>
            {runs.map((run) => (
              <RunRow run={run} ctx={ctx} />
            ))}
          </tbody>
        </table>
      )}
      <nav class="pager" aria-label="Pages">
        {query.cursor ? <a href={runsHref(ctx.base, { ...query, cursor: '' })}>← Newest runs</a> : null}
        {props.nextCursor === null ? null : (
          <a href={runsHref(ctx.base, { ...query, cursor: props.nextCursor })} rel="next">
            Older runs →
          </a>
        )}
      </nav>
    </Layout>
  )
}

function RunRow(props: { run: RunRecord; ctx: PageContext }) {
  const { run, ctx } = props
  const percent = Math.round(run.progress * 100)
  const duration = runDuration(run, ctx.now)
  const due = runDue(run, ctx.now)
  return (
    <tr data-run-id={run.runId} data-status={run.status}>
      <td data-label="Run">
        <a class="mono" href={`${ctx.base}/runs/${encodeURIComponent(run.runId)}`} title={run.runId}>
          {shortId(run.runId)}
        </a>
      </td>
      <td data-label="Workflow">{run.workflowId}</td>
      <td data-label="Status">
        <span>
          <StatusBadge status={run.status} />
          {run.waitingFor === null || isTerminalRunStatus(run.status) ? null : (
            <span class={run.waitingFor.kind === 'version' ? 'abs version-wait' : 'abs'}>
              {run.waitingFor.kind === 'sleep'
                ? 'sleeping'
                : run.waitingFor.kind === 'version'
                  ? `waiting for version ${run.waitingFor.version}`
                  : `waiting for ${run.waitingFor.name}`}
            </span>
          )}
          {due === null ? null : (
            <span class={due.late ? 'abs late' : 'abs'} data-late={String(due.late)}>
              {due.late ? 'late: due ' : 'due '}
              <time datetime={new Date(due.dueAt).toISOString()} title={formatAbsolute(due.dueAt)}>
                {formatRelative(due.dueAt, ctx.now)}
              </time>
            </span>
          )}
        </span>
      </td>
      <td data-label="Progress">
        <span class="progress">
          <progress max="100" value={String(percent)} aria-label={`Progress of run ${run.runId}`}>
            {percent} %
          </progress>{' '}
          {percent} %
        </span>
      </td>
      <td data-label="Created">
        <span>
          <time datetime={new Date(run.createdAt).toISOString()} title={formatAbsolute(run.createdAt)}>
            {formatRelative(run.createdAt, ctx.now)}
          </time>
          <span class="abs">{formatAbsolute(run.createdAt)}</span>
        </span>
      </td>
      <td data-label="Duration">
        <span>
          {duration === null ? <span class="muted">not started</span> : formatDuration(duration)}
          {duration !== null && !isTerminalRunStatus(run.status) ? <span class="muted"> so far</span> : null}
        </span>
      </td>
      <td data-label="Resource">
        {run.resourceId === null ? <span class="muted">—</span> : <UserText value={run.resourceId} />}
      </td>
    </tr>
  )
}
