/**
 * @module
 * Cloudflare Workers entry: `fetch` serves the HTTP API, `scheduled` (the cron trigger in wrangler.toml) runs
 * the sweeper. The store is chosen from bindings (`STORE`: libsql by default, dynamodb, memory). Engine, store
 * and app are built once per isolate, on the first event, and rebuilt only when the configuration changes.
 *
 * The AWS SDK adds ~740 KiB to the bundle, so this entry leaves DynamoDB out; `src/worker-dynamodb.ts` is the
 * same Worker with it (`wrangler deploy -c wrangler.dynamodb.toml`).
 *
 * This is the composition root: the only code that reads `env`. Use {@link createWorker} to serve your own
 * workflows with per-environment `deps`:
 * @example
 * export default createWorker({ workflows: [orderFlow], deps: (env) => ({ payments: new Payments(env.PAYMENTS_KEY) }) })
 */
import type { ExecutionContext } from 'hono'
import { Engine } from './core/engine'
import { ConfigurationError, readInteger, readRetentionMs } from './env-config'
import { GorkflowError } from './core/errors'
import { jsonLogger, parseLogLevel, type Logger } from './core/logger'
import type { StepDeps } from './core/step'
import type { AnyWorkflow } from './core/workflow'
import { createApp } from './http/app'
import { parseApiTokens } from './http/auth'
import { createUiApp } from './http/ui/ui-app'
import { createRemoteLibSQLStore } from './store/libsql/remote-libsql-store'
import { MemoryStore } from './store/memory/memory-store'
import type { WorkflowStore } from './core/store'
import { exampleWorkflows } from './workflows'

/** Bindings and secrets the Worker reads. Every other binding reaches steps through `deps`. */
export interface WorkerEnv {
  /** `libsql` (default) | `dynamodb` | `memory` (per isolate: for trying things out only). */
  readonly STORE?: string
  /** Comma-separated bearer tokens; the API is closed without one. Secret. */
  readonly API_TOKEN?: string
  /** Key of the dashboard's session cookies; unset derives it from API_TOKEN. Secret. */
  readonly UI_SESSION_SECRET?: string
  /** `libsql://…` of the Turso database (or `http://…` of a local endpoint). */
  readonly TURSO_DATABASE_URL?: string
  /** Secret. */
  readonly TURSO_AUTH_TOKEN?: string
  readonly DYNAMODB_TABLE?: string
  /** Custom endpoint (DynamoDB Local); unset for AWS. */
  readonly DYNAMODB_ENDPOINT?: string
  /** Expire finished runs after this many seconds (DynamoDB TTL); unset keeps them. */
  readonly DYNAMODB_RETENTION_SECONDS?: string
  readonly AWS_REGION?: string
  /** Secret. */
  readonly AWS_ACCESS_KEY_ID?: string
  /** Secret. */
  readonly AWS_SECRET_ACCESS_KEY?: string
  /** Secret. */
  readonly AWS_SESSION_TOKEN?: string
  /** debug | info | warn | error | silent. @default info */
  readonly LOG_LEVEL?: string
  /** Lease of a run without a commit, in ms. @default 30000 */
  readonly LEASE_MS?: string
  /** Largest request body, in bytes. @default 1048576 */
  readonly MAX_BODY_BYTES?: string
  /** Execution budget of `?wait=true` starts, in ms. @default 25000 */
  readonly WAIT_BUDGET_MS?: string
  /** The cron sweeper deletes terminal runs finished more than this many days ago; unset keeps them forever. */
  readonly RETENTION_DAYS?: string
}


/** Store builders a Worker bundle adds beyond libsql and memory (kept out of the default bundle). */
export interface StoreFactories<Env extends WorkerEnv> {
  readonly dynamodb?: (env: Env) => Promise<WorkflowStore>
}

export interface WorkerOptions<Env extends WorkerEnv> {
  readonly workflows: readonly AnyWorkflow[]
  /** Per-environment dependencies of the steps (secrets, bindings, clients). @default the env itself */
  readonly deps?: (env: Env) => StepDeps
  /** @default {} — STORE=dynamodb is refused with a message naming the DynamoDB build */
  readonly stores?: StoreFactories<Env>
}

/** `waitUntil` may run ~30 s past the response; background runs yield before that and the sweeper resumes them. */
const BACKGROUND_BUDGET_MS = 25_000
/** Cron invocations of a `* * * * *` trigger may run for 30 s of wall time; leave room to commit. */
const SWEEP_BUDGET_MS = 25_000
const SWEEP_LIMIT = 25

interface Runtime {
  readonly engine: Engine
  readonly app: ReturnType<typeof createApp>
  readonly logger: Logger
}

/** Builds the Worker's handlers for `workflows`. */
export function createWorker<Env extends WorkerEnv>(options: WorkerOptions<Env>) {
  let cached: { key: string; runtime: Promise<Runtime> } | undefined

  function runtimeFor(env: Env): Promise<Runtime> {
    const key = fingerprint(env)
    if (cached?.key !== key) {
      const runtime = buildRuntime(env, options)
      cached = { key, runtime }
      // A failed build (database not migrated, bad secret) is retried by the next event, not cached.
      runtime.catch(() => {
        if (cached?.runtime === runtime) cached = undefined
      })
    }
    return cached.runtime
  }

  return {
    async fetch(request: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
      let runtime: Runtime
      try {
        runtime = await runtimeFor(env)
      } catch (err) {
        return startupFailure(err)
      }
      return runtime.app.fetch(request, env, ctx)
    },

    async scheduled(_controller: unknown, env: Env, ctx: ExecutionContext): Promise<void> {
      const sweep = runtimeFor(env).then(async ({ engine, logger }) => {
        const started = Date.now()
        const result = await engine.resumeDue({ limit: SWEEP_LIMIT, budgetMs: SWEEP_BUDGET_MS })
        logger.log('info', 'sweep_finished', { ...result, duration_ms: Date.now() - started })
      })
      ctx.waitUntil(sweep.catch((err: unknown) => console.error(JSON.stringify({ level: 'error', event: 'sweep_failed', error: describe(err) }))))
    },
  }
}

async function buildRuntime<Env extends WorkerEnv>(env: Env, options: WorkerOptions<Env>): Promise<Runtime> {
  const logger = jsonLogger(parseLogLevel(env.LOG_LEVEL, 'info'))
  // Knobs are checked before the store is opened, so a bad one is reported without a database round trip.
  const leaseMs = readInteger(env, 'LEASE_MS')
  const retention = readRetentionMs(env)
  const store = await storeFor(env, options.stores ?? {})
  const engine = new Engine({
    store,
    workflows: options.workflows,
    deps: options.deps ? options.deps(env) : (env as unknown as StepDeps),
    logger,
    isolatedRequests: true,
    ...(leaseMs === undefined ? {} : { leaseMs }),
    ...(retention === undefined ? {} : { retentionMs: retention }),
  })
  const maxBodyBytes = readInteger(env, 'MAX_BODY_BYTES')
  const waitBudgetMs = readInteger(env, 'WAIT_BUDGET_MS')
  const apiTokens = parseApiTokens(env.API_TOKEN)
  const app = createApp({
    engine,
    apiTokens,
    executeInBackground: (task, c) => c.executionCtx.waitUntil(task),
    backgroundBudgetMs: BACKGROUND_BUDGET_MS,
    ...(maxBodyBytes === undefined ? {} : { maxBodyBytes }),
    ...(waitBudgetMs === undefined ? {} : { waitBudgetMs }),
    logError: ({ event, method, route, error }) =>
      console.error(JSON.stringify({ level: 'error', event, method, route, error: describe(error) })),
  })
  // The dashboard (docs/ui.md): signs in with the same tokens, its own cookie session, HTML errors.
  app.route(
    '/ui',
    createUiApp({
      engine,
      apiTokens,
      sessionSecret: env.UI_SESSION_SECRET?.trim() || undefined,
      backgroundBudgetMs: BACKGROUND_BUDGET_MS,
      logError: (error) => console.error(JSON.stringify({ level: 'error', event: 'ui_error', error: describe(error) })),
    }),
  )
  return { engine, app, logger }
}

async function storeFor<Env extends WorkerEnv>(env: Env, stores: StoreFactories<Env>): Promise<WorkflowStore> {
  const kind = (env.STORE ?? 'libsql').trim().toLowerCase()
  if (kind === 'memory') return new MemoryStore()
  if (kind === 'libsql') {
    const url = env.TURSO_DATABASE_URL?.trim()
    if (!url) {
      throw new ConfigurationError(
        'TURSO_DATABASE_URL is not set: `wrangler secret put TURSO_DATABASE_URL` (and TURSO_AUTH_TOKEN), ' +
          'or put them in .dev.vars for `wrangler dev` (`npm run dev` does this for you)',
      )
    }
    const authToken = env.TURSO_AUTH_TOKEN?.trim()
    return createRemoteLibSQLStore({ url, ...(authToken ? { authToken } : {}) })
  }
  if (kind === 'dynamodb') {
    if (stores.dynamodb) return stores.dynamodb(env)
    throw new ConfigurationError(
      'STORE=dynamodb needs the DynamoDB build of the Worker, which bundles the AWS SDK: ' +
        '`wrangler deploy -c wrangler.dynamodb.toml` (entry src/worker-dynamodb.ts)',
    )
  }
  throw new ConfigurationError(`STORE must be libsql, dynamodb or memory, got ${JSON.stringify(env.STORE)}`)
}

/** The bindings that shape the runtime; a change (e.g. a rotated secret) rebuilds it. */
function fingerprint(env: WorkerEnv): string {
  return JSON.stringify([
    env.STORE,
    env.API_TOKEN,
    env.UI_SESSION_SECRET,
    env.TURSO_DATABASE_URL,
    env.TURSO_AUTH_TOKEN,
    env.DYNAMODB_TABLE,
    env.DYNAMODB_ENDPOINT,
    env.DYNAMODB_RETENTION_SECONDS,
    env.AWS_REGION,
    env.AWS_ACCESS_KEY_ID,
    env.AWS_SECRET_ACCESS_KEY,
    env.AWS_SESSION_TOKEN,
    env.LOG_LEVEL,
    env.LEASE_MS,
    env.MAX_BODY_BYTES,
    env.WAIT_BUDGET_MS,
    env.RETENTION_DAYS,
  ])
}

/** The answer while the runtime cannot be built: 503, in the API's error shape, naming what to fix. */
function startupFailure(err: unknown): Response {
  const known = err instanceof ConfigurationError || (err instanceof GorkflowError && err.code !== 'INTERNAL_ERROR')
  const code = err instanceof GorkflowError ? err.code : err instanceof ConfigurationError ? 'MISCONFIGURED' : 'INTERNAL_ERROR'
  const message = known && err instanceof Error ? err.message : 'the service could not start; see the Worker logs'
  // A configuration refusal is expected until fixed: its message says it all, a stack would only add noise.
  const logged = err instanceof ConfigurationError ? { name: err.name, message: err.message } : describe(err)
  console.error(JSON.stringify({ level: 'error', event: 'startup_failed', error: logged }))
  return Response.json({ error: { code, message } }, { status: 503, headers: { 'Retry-After': '5' } })
}

function describe(err: unknown): { name?: string; message: string; stack?: string } {
  return err instanceof Error ? { name: err.name, message: err.message, ...(err.stack ? { stack: err.stack } : {}) } : { message: String(err) }
}

export default createWorker<WorkerEnv>({ workflows: exampleWorkflows })
