/**
 * @module
 * The dashboard: a Hono app of server-rendered pages (hono/jsx), mounted by the main app at `/ui`. No build
 * step, no external assets: one stylesheet and a refresh script of under 1 KB, both served from here.
 *
 * Closed like the API: every page but sign-in needs a session cookie from signing in with an API token (see
 * `session.ts`), and every state-changing form carries a CSRF token bound to that session (see `csrf.ts`).
 *
 * @example
 * app.route('/ui', createUiApp({ engine, apiTokens, sessionSecret: env.UI_SESSION_SECRET, executeInBackground }))
 */
import { Hono, type Context, type MiddlewareHandler } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import { deleteCookie, getCookie, setCookie } from 'hono/cookie'
import { html } from 'hono/html'
import type { Child } from 'hono/jsx'
import type { Engine } from '../../core/engine'
import { isGorkflowError, ValidationError, type ErrorCode, type MigrationRefusedError } from '../../core/errors'
import { RUN_STATUSES, type RunStatus } from '../../core/model'
import type { AnyWorkflow } from '../../core/workflow'
import type { RunPage } from '../../core/store'
import { MAX_RESOURCE_ID_LENGTH, MAX_TAG_KEY_LENGTH, MAX_TAG_VALUE_LENGTH } from '../limits'
import { CSRF_FIELD, csrfToken, verifyCsrfToken } from './csrf'
import { MessagePage } from './message-page'
import type { PageContext } from './page-context'
import { streamOptions } from '../routes/runs'
import { runStreamResponse } from '../run-stream'
import { FINGERPRINT_HEADER, runFingerprint, runsFingerprint } from './refresh'
import { RUN_NOTICES, RunPage as RunDetailPage, type EventFormState, type RunNotice, type RunPageMigration } from './run-page'
import { parseTagFilter, RunsPage, type RunsQuery } from './runs-page'
import { DEFAULT_SESSION_TTL_MS, SessionKeys, type Session } from './session'
import { SIGN_IN_NOTICES, SignInPage, type SignInNotice } from './sign-in-page'
import { REFRESH_JS, UI_CSS } from './styles'
import { WorkflowsPage, type StartFormState } from './workflows-page'

export interface UiAppOptions {
  readonly engine: Engine
  /** Tokens that may sign in (the API's `API_TOKEN`); none keeps the dashboard closed. */
  readonly apiTokens: readonly string[]
  /**
   * Key material for session cookies. Without it the key is derived from the tokens, so rotating the tokens
   * also ends every session. Either way a session ends when its token is removed.
   * @default derived from apiTokens
   */
  readonly sessionSecret?: string | undefined
  /** Where the main app mounts this one; links and the cookie path use it. @default '/ui' */
  readonly basePath?: string
  /**
   * Keeps a started run executing after the response (Workers: `waitUntil`). The task never rejects.
   * @default `c.executionCtx.waitUntil(task)` where there is one, else the task simply runs on (Node)
   */
  readonly executeInBackground?: (task: Promise<unknown>, c: Context) => void
  /** Arms a run where a scheduler executes runs, instead of executing it here (as the API's `scheduleRun`). */
  readonly scheduleRun?: (runId: string) => Promise<void>
  /** Execution budget of runs started from the dashboard, in ms. @default the engine's (unbounded) */
  readonly backgroundBudgetMs?: number
  /** How often pages showing live runs reload. @default 2_000 */
  readonly refreshMs?: number
  /** Timing of the run page's event stream (see `AppOptions`). @default 1_000 */
  readonly streamPollMs?: number
  /** @default 25_000 */
  readonly streamMaxConnectionMs?: number
  /** @default 12 hours */
  readonly sessionTtlMs?: number
  /** Clock for session expiry and relative times. @default Date.now */
  readonly now?: () => number
  /** Where unexpected failures are reported. @default console.error */
  readonly logError?: (error: unknown) => void
}

type UiEnv = { Variables: { session: Session; csrf: string } }

/** Name of the session cookie. */
export const SESSION_COOKIE = 'gorkflow_session'

/** Largest form body accepted (the start form carries the run's JSON input). */
const MAX_FORM_BYTES = 256 * 1024
const PAGE_SIZE = 20
/** Longest tag filter text the runs page reads (10 pairs of the longest key and value). */
const MAX_TAGS_TEXT = 10 * (MAX_TAG_KEY_LENGTH + MAX_TAG_VALUE_LENGTH + 2)
/** Event names as the builder's `waitForEvent` accepts them (and the API's route checks them). */
const EVENT_NAME = /^[A-Za-z0-9_.:-]{1,100}$/

// Pages are served from this app only and hold no inline script or style, so the policy can be strict.
const CSP = [
  "default-src 'none'",
  "style-src 'self'",
  "script-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ')

/** Builds the dashboard app. Mount it with `app.route(basePath, createUiApp(...))`. */
export function createUiApp(options: UiAppOptions): Hono<UiEnv> {
  const { engine } = options
  const base = normaliseBase(options.basePath ?? '/ui')
  const now = options.now ?? Date.now
  const refreshMs = options.refreshMs ?? 2_000
  const logError = options.logError ?? ((error: unknown) => console.error('gorkflow ui:', error))
  const keys = new SessionKeys(options.apiTokens, options.sessionSecret, options.sessionTtlMs ?? DEFAULT_SESSION_TTL_MS)
  const background = options.executeInBackground ?? runInBackground
  const budget = options.backgroundBudgetMs === undefined ? {} : { budgetMs: options.backgroundBudgetMs }

  const signedOutCtx = (): PageContext => ({ base, csrf: null, now: now() })
  const ctxOf = (c: Context<UiEnv>): PageContext => ({ base, csrf: c.get('csrf'), now: now() })
  const render = (c: Context, page: Child, status: 200 | 400 | 401 | 403 | 404 | 409 | 413 | 422 | 500 | 503 = 200) =>
    c.html(html`<!DOCTYPE html>${page}`, status)
  const message = (c: Context, status: 400 | 403 | 404 | 413 | 500 | 503, title: string, text: string) =>
    render(c, <MessagePage ctx={c.get('csrf') ? ctxOf(c) : signedOutCtx()} title={title} message={text} />, status)
  const limitForm = bodyLimit({
    maxSize: MAX_FORM_BYTES,
    onError: (c) => {
      // As the API's 413: the unread rest of the form is still on the connection, so it closes.
      c.header('Connection', 'close')
      return message(c, 413, 'Too large', `The form is over the limit of ${MAX_FORM_BYTES / 1024} KiB.`)
    },
  })

  /**
   * Continues a run after the response (or arms it, with a scheduler); losing it to a concurrent writer (a
   * cancel) is not a failure.
   */
  const { scheduleRun } = options
  const handOff = scheduleRun ? { leased: false } : {}
  const continueRun = (runId: string, c: Context) =>
    background(
      (scheduleRun ? scheduleRun(runId) : engine.execute(runId, budget)).catch((err: unknown) => {
        if (!isGorkflowError(err, 'LEASE_LOST') && !isGorkflowError(err, 'RUN_ALREADY_FINISHED')) logError(err)
      }),
      c,
    )
  const runPage = (runId: string, notice?: RunNotice) =>
    `${base}/runs/${encodeURIComponent(runId)}${notice ? `?notice=${notice}` : ''}`
  const renderRun = async (
    c: Context<UiEnv>,
    runId: string,
    extra: {
      notice?: RunNotice | undefined
      eventForm?: EventFormState
      migration?: RunPageMigration
      stepsPage?: number
      stepsPageError?: string
    } = {},
    status: 200 | 400 | 409 | 413 | 422 = 200,
  ) => {
    const [run, steps, state, children] = await Promise.all([
      engine.getRun(runId),
      engine.listSteps(runId),
      engine.getState(runId),
      engine.listChildren(runId),
    ])
    return render(
      c,
      <RunDetailPage
        ctx={ctxOf(c)}
        run={run}
        steps={steps}
        state={state}
        workflow={engine.definitionOf(run)}
        versions={findVersions(engine, run.workflowId)}
        notice={extra.notice}
        eventForm={extra.eventForm}
        migration={extra.migration}
        stepsPage={extra.stepsPage}
        stepsPageError={extra.stepsPageError}
        childRuns={children}
        refreshMs={refreshMs}
      />,
      status,
    )
  }

  const requireSession: MiddlewareHandler<UiEnv> = async function requireSession(c, next) {
    const cookie = getCookie(c, SESSION_COOKIE)
    const session = await keys.verify(cookie, now())
    if (!session) {
      if (cookie !== undefined) deleteCookie(c, SESSION_COOKIE, cookieOptions(c, base))
      const params = new URLSearchParams()
      // After a POST the form is gone anyway; come back to where it was shown from.
      if (c.req.method === 'GET') params.set('next', pathWithSearch(c.req.url))
      if (cookie !== undefined) params.set('notice', 'expired')
      const search = params.toString()
      return c.redirect(`${base}/sign-in${search ? `?${search}` : ''}`, 303)
    }
    c.set('session', session)
    c.set('csrf', await csrfToken(keys, session))
    await next()
  }

  const requireCsrf: MiddlewareHandler<UiEnv> = async function requireCsrf(c, next) {
    const body = await c.req.parseBody()
    if (!(await verifyCsrfToken(keys, c.get('session'), body[CSRF_FIELD]))) {
      return message(
        c,
        403,
        'Form expired',
        'This form did not come from your current session. Go back, reload the page and try again.',
      )
    }
    await next()
  }

  const app = new Hono<UiEnv>()

  app.use('*', async function securityHeaders(c, next) {
    await next()
    c.res.headers.set('Content-Security-Policy', CSP)
    c.res.headers.set('X-Content-Type-Options', 'nosniff')
    c.res.headers.set('Referrer-Policy', 'same-origin')
    c.res.headers.set('X-Frame-Options', 'DENY')
    if (!c.res.headers.has('Cache-Control')) c.res.headers.set('Cache-Control', 'no-store')
  })

  // Public: assets and sign-in.
  app.get('/assets/ui.css', (c) =>
    c.body(UI_CSS, 200, { 'Content-Type': 'text/css; charset=utf-8', 'Cache-Control': 'public, max-age=31536000, immutable' }),
  )
  app.get('/assets/refresh.js', (c) =>
    c.body(REFRESH_JS, 200, {
      'Content-Type': 'text/javascript; charset=utf-8',
      'Cache-Control': 'public, max-age=31536000, immutable',
    }),
  )

  app.get('/sign-in', async (c) => {
    // Already signed in: nothing to do here.
    if (await keys.verify(getCookie(c, SESSION_COOKIE), now())) return c.redirect(safeNext(base, c.req.query('next')), 303)
    return render(
      c,
      <SignInPage
        ctx={signedOutCtx()}
        configured={keys.configured}
        next={safeNext(base, c.req.query('next'))}
        notice={noticeOf(SIGN_IN_NOTICES, c.req.query('notice'))}
        insecure={isInsecure(c)}
      />,
      keys.configured ? 200 : 503,
    )
  })

  app.post('/sign-in', limitForm, async (c) => {
    const body = await c.req.parseBody()
    const next = safeNext(base, typeof body.next === 'string' ? body.next : undefined)
    const token = typeof body.token === 'string' ? body.token.trim() : ''
    const signedIn = await keys.signIn(token, now())
    if (!signedIn) {
      return render(
        c,
        <SignInPage
          ctx={signedOutCtx()}
          configured={keys.configured}
          next={next}
          error={token === '' ? 'Enter an API token.' : 'That token is not accepted.'}
          insecure={isInsecure(c)}
        />,
        keys.configured ? 401 : 503,
      )
    }
    setCookie(c, SESSION_COOKIE, signedIn.cookie, { ...cookieOptions(c, base), maxAge: keys.maxAgeSeconds })
    return c.redirect(next, 303)
  })

  // Everything below needs a session; every POST below needs its CSRF token.
  app.use('*', requireSession)
  app.post('*', limitForm, requireCsrf)

  app.post('/sign-out', (c) => {
    deleteCookie(c, SESSION_COOKIE, cookieOptions(c, base))
    return c.redirect(`${base}/sign-in?notice=signed-out`, 303)
  })

  app.get('/', (c) => c.redirect(`${base}/runs`, 303))

  app.get('/runs', async (c) => {
    const status = c.req.query('status') ?? ''
    const query: RunsQuery = {
      workflow: c.req.query('workflow') ?? '',
      status: (RUN_STATUSES as readonly string[]).includes(status) ? (status as RunStatus) : '',
      resource: (c.req.query('resource') ?? '').trim(),
      tags: (c.req.query('tags') ?? '').trim().slice(0, MAX_TAGS_TEXT),
      cursor: c.req.query('cursor') ?? '',
    }
    const parsedTags = parseTagFilter(query.tags)
    const filter = {
      limit: PAGE_SIZE,
      ...(query.workflow ? { workflowId: query.workflow } : {}),
      ...(query.status ? { status: query.status } : {}),
      ...(query.resource ? { resourceId: query.resource } : {}),
      ...('tags' in parsedTags && Object.keys(parsedTags.tags).length > 0 ? { tags: parsedTags.tags } : {}),
    }
    let page: RunPage
    let error: string | undefined
    if ('error' in parsedTags) {
      // Nothing is listed for a filter that cannot be read: showing unfiltered runs would look like matches.
      error = parsedTags.error
      page = { runs: [], nextCursor: null }
    } else {
      try {
        page = await engine.listRuns({ ...filter, ...(query.cursor ? { cursor: query.cursor } : {}) })
      } catch (err) {
        if (!isGorkflowError(err, 'INVALID_CURSOR')) throw err
        error = 'That page link is not valid for this list any more; showing the newest runs instead.'
        page = await engine.listRuns(filter)
      }
    }
    if (c.req.header(FINGERPRINT_HEADER) === '1') return c.text(runsFingerprint(page.runs, page.nextCursor))
    const props = {
      ctx: ctxOf(c),
      query: error === undefined ? query : { ...query, cursor: '' },
      workflowIds: engine.listWorkflows().map((wf) => wf.id),
      runs: page.runs,
      nextCursor: page.nextCursor,
      error,
      refreshMs,
    }
    return render(c, <RunsPage {...props} />, error === undefined ? 200 : 400)
  })

  // The run page's live updates: the API's event stream, under the session instead of the bearer token (an
  // EventSource cannot send headers).
  app.get('/runs/:runId/stream', (c) => runStreamResponse(c, engine, c.req.param('runId'), streamOptions(options)))

  app.get('/runs/:runId', async (c) => {
    const runId = c.req.param('runId')
    if (c.req.header(FINGERPRINT_HEADER) === '1') return c.text(runFingerprint(await engine.getRun(runId)))
    const notice = noticeOf(RUN_NOTICES, c.req.query('notice'))
    const steps = c.req.query('steps')
    if (steps === undefined || /^[1-9][0-9]{0,8}$/.test(steps)) {
      return renderRun(c, runId, { notice, ...(steps === undefined ? {} : { stepsPage: Number(steps) }) })
    }
    return renderRun(c, runId, { notice, stepsPageError: 'Not a page of steps; showing the first page.' }, 400)
  })

  app.post('/runs/:runId/cancel', async (c) => {
    const runId = c.req.param('runId')
    let notice: RunNotice = 'cancelled'
    try {
      await engine.cancel(runId)
    } catch (err) {
      if (!isGorkflowError(err, 'RUN_ALREADY_FINISHED')) throw err
      notice = 'already-finished'
    }
    return c.redirect(runPage(runId, notice), 303)
  })

  app.post('/runs/:runId/pause', async (c) => {
    const runId = c.req.param('runId')
    const notice = await outcome<RunNotice>(engine.pause(runId).then(() => 'paused'), {
      RUN_STATE_CONFLICT: 'already-paused',
      RUN_ALREADY_FINISHED: 'finished',
    })
    return c.redirect(runPage(runId, notice), 303)
  })

  app.post('/runs/:runId/resume', async (c) => {
    const runId = c.req.param('runId')
    const notice = await outcome<RunNotice>(engine.resume(runId).then(() => 'resumed'), {
      RUN_STATE_CONFLICT: 'not-paused',
      RUN_ALREADY_FINISHED: 'finished',
    })
    if (notice === 'resumed') continueRun(runId, c)
    return c.redirect(runPage(runId, notice), 303)
  })

  app.post('/runs/:runId/retry', async (c) => {
    const runId = c.req.param('runId')
    const body = await c.req.parseBody()
    const fromStep = typeof body.fromStep === 'string' && body.fromStep !== '' ? body.fromStep : undefined
    let retry: string
    try {
      retry = (await engine.retry(runId, { ...handOff, ...(fromStep === undefined ? {} : { fromStep }) })).runId
    } catch (err) {
      if (isGorkflowError(err, 'RUN_STATE_CONFLICT')) return c.redirect(runPage(runId, 'not-retryable'), 303)
      if (isGorkflowError(err, 'INVALID_ARGUMENT')) return c.redirect(runPage(runId, 'unknown-step'), 303)
      throw err
    }
    continueRun(retry, c)
    return c.redirect(runPage(retry, 'retried'), 303)
  })

  app.post('/runs/:runId/migrate', async (c) => {
    const runId = c.req.param('runId')
    const body = await c.req.parseBody()
    const version = typeof body.version === 'string' ? body.version : ''
    let moved: string
    try {
      moved = (await engine.migrate(runId, { version })).runId
    } catch (err) {
      if (isGorkflowError(err, 'MIGRATION_REFUSED')) {
        return renderRun(c, runId, { migration: { version, mismatches: (err as MigrationRefusedError).mismatches } }, 409)
      }
      const notice = await outcome<RunNotice>(Promise.reject(err), {
        WORKFLOW_VERSION_NOT_FOUND: 'unknown-version',
        WORKFLOW_NOT_FOUND: 'unknown-version',
        RUN_ALREADY_FINISHED: 'not-migratable',
        RUN_STATE_CONFLICT: 'not-migratable',
        INVALID_ARGUMENT: 'same-version',
      })
      return c.redirect(runPage(runId, notice), 303)
    }
    continueRun(moved, c)
    return c.redirect(runPage(moved, 'migrated'), 303)
  })

  app.post('/runs/:runId/events', async (c) => {
    const runId = c.req.param('runId')
    const body = await c.req.parseBody()
    const name = typeof body.name === 'string' ? body.name.trim() : ''
    const payloadText = typeof body.payload === 'string' ? body.payload : ''
    const refuse = (status: 400 | 409 | 413 | 422, error: EventFormState['error']) =>
      renderRun(c, runId, { eventForm: { name, payload: payloadText, error } }, status)
    if (!EVENT_NAME.test(name)) {
      return refuse(400, {
        field: 'name',
        message: 'An event name is 1 to 100 characters of letters, digits and _ . : -',
        issues: [],
      })
    }
    let payload: unknown
    try {
      // An empty field sends JSON null: events whose wait has no schema need no payload.
      payload = payloadText.trim() === '' ? null : JSON.parse(payloadText)
    } catch (err) {
      return refuse(400, { field: 'payload', message: `The payload is not valid JSON: ${(err as Error).message}`, issues: [] })
    }
    try {
      await engine.sendEvent(runId, name, payload)
    } catch (err) {
      if (err instanceof ValidationError || isGorkflowError(err, 'VALIDATION_ERROR')) {
        const issues = err instanceof ValidationError ? err.issues : []
        return refuse(422, { field: 'payload', message: `The payload does not match the schema of event \u201c${name}\u201d.`, issues })
      }
      if (isGorkflowError(err, 'INVALID_ARGUMENT')) {
        return refuse(400, { field: 'name', message: `This run\u2019s workflow waits for no event named \u201c${name}\u201d.`, issues: [] })
      }
      if (isGorkflowError(err, 'PAYLOAD_TOO_LARGE')) return refuse(413, { field: 'payload', message: err.message, issues: [] })
      if (isGorkflowError(err, 'EVENT_ALREADY_DELIVERED')) {
        return refuse(409, { field: 'name', message: `An event named \u201c${name}\u201d was already delivered to this run.`, issues: [] })
      }
      if (isGorkflowError(err, 'RUN_ALREADY_FINISHED')) return c.redirect(runPage(runId, 'finished'), 303)
      throw err
    }
    continueRun(runId, c)
    return c.redirect(runPage(runId, 'event-sent'), 303)
  })

  app.get('/workflows', async (c) => {
    const [inventory, schedules] = await Promise.all([engine.versionInventory(), engine.listSchedules()])
    return render(c, <WorkflowsPage ctx={ctxOf(c)} workflows={engine.listWorkflows()} inventory={inventory} schedules={schedules} />)
  })

  app.get('/workflows/:workflowId', async (c) => {
    const workflow = engine.getWorkflow(c.req.param('workflowId'))
    const [inventory, schedules] = await Promise.all([engine.versionInventory(workflow.id), engine.listSchedules()])
    return render(c, <WorkflowsPage ctx={ctxOf(c)} workflows={[workflow]} inventory={inventory} schedules={schedules} single />)
  })

  app.post('/workflows/:workflowId/schedule/:action{pause|resume}', async (c) => {
    const workflowId = c.req.param('workflowId')
    if (c.req.param('action') === 'pause') await engine.pauseSchedule(workflowId)
    else await engine.resumeSchedule(workflowId)
    return c.redirect(`${base}/workflows/${encodeURIComponent(workflowId)}`, 303)
  })

  app.post('/workflows/:workflowId/runs', async (c) => {
    const workflow = engine.getWorkflow(c.req.param('workflowId'))
    const body = await c.req.parseBody()
    const inputText = typeof body.input === 'string' ? body.input : ''
    const resourceId = typeof body.resourceId === 'string' ? body.resourceId.trim() : ''
    const refuse = async (status: 400 | 413 | 422, error: StartFormState['error']) =>
      render(
        c,
        <WorkflowsPage
          ctx={ctxOf(c)}
          workflows={[workflow]}
          inventory={await engine.versionInventory(workflow.id)}
          schedules={await engine.listSchedules()}
          single
          form={{ workflowId: workflow.id, input: inputText, resourceId, error }}
        />,
        status,
      )
    if (resourceId.length > MAX_RESOURCE_ID_LENGTH) {
      return refuse(400, { message: `The resource id is longer than ${MAX_RESOURCE_ID_LENGTH} characters.`, issues: [] })
    }
    let input: unknown
    try {
      input = inputText.trim() === '' ? undefined : JSON.parse(inputText)
    } catch (err) {
      return refuse(400, { message: `The input is not valid JSON: ${(err as Error).message}`, issues: [] })
    }
    let runId: string
    try {
      const started = await engine.start(workflow.id, input, { ...handOff, ...(resourceId === '' ? {} : { resourceId }) })
      runId = started.run.runId
    } catch (err) {
      if (err instanceof ValidationError || isGorkflowError(err, 'VALIDATION_ERROR')) {
        const issues = err instanceof ValidationError ? err.issues : []
        return refuse(422, { message: 'The input does not match the workflow\u2019s input schema.', issues })
      }
      if (isGorkflowError(err, 'PAYLOAD_TOO_LARGE')) return refuse(413, { message: err.message, issues: [] })
      throw err
    }
    // A cancel can win the race with the first commit; continueRun does not count that as a failure.
    continueRun(runId, c)
    return c.redirect(runPage(runId, 'started'), 303)
  })

  app.all('*', (c) => {
    if (c.req.path === `${base}/`) return c.redirect(`${base}/runs`, 303)
    return message(c, 404, 'Not found', 'There is no dashboard page at this address.')
  })

  app.onError((err, c) => {
    if (isGorkflowError(err, 'RUN_NOT_FOUND')) return message(c, 404, 'Run not found', err.message)
    if (isGorkflowError(err, 'WORKFLOW_NOT_FOUND')) return message(c, 404, 'Workflow not found', err.message)
    if (isGorkflowError(err, 'SCHEDULE_NOT_FOUND')) return message(c, 404, 'No schedule', err.message)
    if (isGorkflowError(err, 'STORE_UNAVAILABLE')) {
      return message(c, 503, 'Store unavailable', 'The database could not be reached. Try again in a moment.')
    }
    logError(err)
    return message(c, 500, 'Something went wrong', 'The page could not be shown. The error was logged.')
  })

  return app
}

/**
 * The notice a `?notice=` names, if `notices` has it as its own key: an `in` check would also accept inherited
 * names such as `constructor` or `__proto__`.
 */
function noticeOf<K extends string>(notices: Readonly<Record<K, string>>, name: string | undefined): K | undefined {
  return name !== undefined && Object.hasOwn(notices, name) ? (name as K) : undefined
}

/** The notice for an action's outcome: `done` when it succeeded, else the one mapped from its error's code. */
async function outcome<N extends string>(action: Promise<N>, byCode: Partial<Record<ErrorCode, N>>): Promise<N> {
  try {
    return await action
  } catch (err) {
    const notice = isGorkflowError(err) ? byCode[err.code] : undefined
    if (notice === undefined) throw err
    return notice
  }
}

/** Workers hand background work to `waitUntil`; Node has no execution context and just lets it run. */
function runInBackground(task: Promise<unknown>, c: Context): void {
  try {
    c.executionCtx.waitUntil(task)
  } catch {
    // No ExecutionContext (Node): the promise keeps the work going on its own.
  }
}

/** The registered versions of a workflow; none when it is not registered here. */
function findVersions(engine: Engine, workflowId: string): AnyWorkflow[] {
  try {
    return engine.listWorkflowVersions(workflowId)
  } catch (err) {
    if (isGorkflowError(err, 'WORKFLOW_NOT_FOUND')) return []
    throw err
  }
}

function normaliseBase(path: string): string {
  const trimmed = path.replace(/\/+$/, '')
  if (trimmed !== '' && !/^\/[A-Za-z0-9._~/-]*$/.test(trimmed)) throw new Error(`basePath ${path} is not a plain path`)
  return trimmed
}

/** Only a path inside the dashboard may be a redirect target; anything else (`//evil`, `https:`) is dropped. */
export function safeNext(base: string, next: string | undefined): string {
  const fallback = `${base}/runs`
  if (!next || !next.startsWith(`${base}/`) || next.startsWith('//') || /[\\\s]/.test(next)) return fallback
  if (next.startsWith(`${base}/sign-in`) || next.startsWith(`${base}/sign-out`)) return fallback
  return next
}

function pathWithSearch(url: string): string {
  const u = new URL(url)
  return `${u.pathname}${u.search}`
}

const LOCAL_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]'])

function isLocalHost(c: Context): boolean {
  const host = new URL(c.req.url).hostname
  return LOCAL_HOSTS.has(host) || host.endsWith('.localhost')
}

function cookieOptions(c: Context, base: string) {
  return { path: base || '/', httpOnly: true, sameSite: 'Strict', secure: !isLocalHost(c) } as const
}

function isInsecure(c: Context): boolean {
  const viaHttps = new URL(c.req.url).protocol === 'https:' || c.req.header('X-Forwarded-Proto') === 'https'
  return !viaHttps && !isLocalHost(c)
}
