/**
 * @module
 * The Cloudflare Worker of a list of workflows: `fetch` serves the HTTP API, `scheduled` (the cron trigger in
 * wrangler.toml) runs the sweeper. The store is chosen from bindings (`STORE`: libsql by default, dynamodb,
 * memory). Engine, store and app are composed by `runtime.ts` (as on Node) once per isolate, on the first event,
 * and rebuilt only when a setting of `env-keys.ts` changes.
 *
 * The AWS SDK adds ~740 KiB to the bundle, so DynamoDB is left out unless `stores.dynamodb` brings it
 * (`src/worker-dynamodb.ts`, `wrangler deploy -c wrangler.dynamodb.toml`).
 *
 * The only code that reads `env`. A module apart from the deployed entry (`src/worker.ts`), so that the package's
 * `gorkflow/worker` does not carry this repository's registered workflows. Serve yours with per-environment `deps`:
 * @example
 * export default createWorker({ workflows: [orderFlow], deps: (env) => ({ payments: new Payments(env.PAYMENTS_KEY) }) })
 */
import type { ExecutionContext } from 'hono'
import { GorkflowError } from '../core/errors'
import { jsonLogger, parseLogLevel, type Logger } from '../core/logger'
import type { StepDeps } from '../core/step'
import type { WorkflowStore } from '../core/store'
import type { AnyWorkflow } from '../core/workflow'
import { configFingerprint } from './config-fingerprint'
import { ConfigurationError, readSettings, type DatabaseSettings } from './env-config'
import type { WorkerEnv } from './env-keys'
import { composeRuntime, errorFields, openStore, sweep, type Runtime } from './compose'
import { createRemoteLibSQLStore } from '../store/libsql/remote-libsql-store'

export type { WorkerEnv } from './env-keys'

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

/** Builds the Worker's handlers for `workflows`. */
export function createWorker<Env extends WorkerEnv>(options: WorkerOptions<Env>) {
  let cached: { key: string; runtime: Promise<Runtime> } | undefined

  async function runtimeFor(env: Env): Promise<Runtime> {
    const key = await configFingerprint(env)
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
        return startupFailure(err, loggerFor(env))
      }
      return runtime.app.fetch(request, env, ctx)
    },

    async scheduled(_controller: unknown, env: Env, ctx: ExecutionContext): Promise<void> {
      ctx.waitUntil(
        runtimeFor(env).then(
          (runtime) => sweep(runtime, { limit: SWEEP_LIMIT, budgetMs: SWEEP_BUDGET_MS }),
          (err: unknown) => loggerFor(env).log('error', 'sweep_failed', errorFields(err)),
        ),
      )
    },
  }
}

async function buildRuntime<Env extends WorkerEnv>(env: Env, options: WorkerOptions<Env>): Promise<Runtime> {
  const settings = readSettings(env, 'worker')
  const { dynamodb } = options.stores ?? {}
  const store = await openStore(settings.store, settings.database, {
    libsql: remoteLibSQLStore,
    ...(dynamodb ? { dynamodb: () => dynamodb(env) } : {}),
    missingDynamoDB:
      'STORE=dynamodb needs the DynamoDB build of the Worker, which bundles the AWS SDK: ' +
      '`wrangler deploy -c wrangler.dynamodb.toml` (entry src/worker-dynamodb.ts)',
  })
  return composeRuntime({
    store,
    workflows: options.workflows,
    deps: options.deps ? options.deps(env) : (env as unknown as StepDeps),
    logger: jsonLogger(settings.logLevel),
    engine: {
      // workerd refuses I/O on behalf of another request: only the run's own request may wake its loop.
      isolatedRequests: true,
      ...(settings.leaseMs === undefined ? {} : { leaseMs: settings.leaseMs }),
      ...(settings.retentionMs === undefined ? {} : { retentionMs: settings.retentionMs }),
    },
    apiTokens: settings.apiTokens,
    uiSessionSecret: settings.uiSessionSecret,
    ...(settings.maxBodyBytes === undefined ? {} : { maxBodyBytes: settings.maxBodyBytes }),
    ...(settings.waitBudgetMs === undefined ? {} : { waitBudgetMs: settings.waitBudgetMs }),
    executeInBackground: (task, c) => c.executionCtx.waitUntil(task),
    backgroundBudgetMs: BACKGROUND_BUDGET_MS,
  })
}

/** Workers speak to libSQL over HTTP only: the file store is Node's. */
async function remoteLibSQLStore(database: DatabaseSettings | undefined) {
  if (database === undefined) {
    throw new ConfigurationError(
      'TURSO_DATABASE_URL is not set: `wrangler secret put TURSO_DATABASE_URL` (and TURSO_AUTH_TOKEN), ' +
        'or put them in .dev.vars for `wrangler dev` (`npm run dev` does this for you)',
    )
  }
  return createRemoteLibSQLStore(database)
}

/** The logger of an event whose runtime could not be built (LOG_LEVEL alone decides it). */
function loggerFor(env: WorkerEnv): Logger {
  return jsonLogger(parseLogLevel(env.LOG_LEVEL?.trim(), 'info'))
}

/** The answer while the runtime cannot be built: 503, in the API's error shape, naming what to fix. */
function startupFailure(err: unknown, logger: Logger): Response {
  const known = err instanceof ConfigurationError || (err instanceof GorkflowError && err.code !== 'INTERNAL_ERROR')
  const code = err instanceof GorkflowError ? err.code : err instanceof ConfigurationError ? 'MISCONFIGURED' : 'INTERNAL_ERROR'
  const message = known && err instanceof Error ? err.message : 'the service could not start; see the Worker logs'
  logger.log('error', 'startup_failed', errorFields(err))
  return Response.json({ error: { code, message } }, { status: 503, headers: { 'Retry-After': '5' } })
}
