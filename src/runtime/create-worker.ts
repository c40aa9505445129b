/**
 * @module
 * The Cloudflare Worker of a list of workflows: `fetch` serves the HTTP API, `scheduled` (the cron trigger in
 * wrangler.toml) runs the sweeper, and `RunAlarm` is the Durable Object class that executes runs in the background
 * when wrangler.toml binds it as `RUN_ALARMS` (`run-alarm.ts`; without the binding, background runs execute in
 * `waitUntil` and the cron resumes them). The store is chosen from bindings (`STORE`: libsql by default, dynamodb,
 * memory). Engine, store and app are composed by `runtime.ts` (as on Node) once per isolate, on the first event,
 * and rebuilt only when a setting of `env-keys.ts` changes.
 *
 * The AWS SDK adds ~740 KiB to the bundle, so DynamoDB is left out unless `stores.dynamodb` brings it
 * (`src/worker-dynamodb.ts`, `wrangler deploy -c wrangler.dynamodb.toml`).
 *
 * The only code that reads `env`. A module apart from the deployed entry (`src/worker.ts`), so that the package's
 * `gorkflow/worker` does not carry this repository's registered workflows. Serve yours with per-environment `deps`:
 * @example
 * const worker = createWorker({ workflows: [orderFlow], deps: (env) => ({ payments: new Payments(env.PAYMENTS_KEY) }) })
 * export default worker
 * export const { RunAlarm } = worker
 */
import type { ExecutionContext } from 'hono'
import { GorkflowError } from '../core/errors'
import { jsonLogger, parseLogLevel, type Logger } from '../core/logger'
import type { StepDeps } from '../core/step'
import type { WorkflowStore } from '../core/store'
import type { AnyWorkflow } from '../core/workflow'
import { configFingerprint } from './config-fingerprint'
import { ConfigurationError, readInteger, readSettings, type DatabaseSettings } from './env-config'
import { DEFAULT_BACKGROUND_BUDGET_MS, type WorkerEnv } from './env-keys'
import { composeRuntime, deliverWebhooks, errorFields, openStore, sweep, type Runtime } from './compose'
import type { DurableObjectNamespaceLike } from './durable-object-types'
import { runAlarmClass } from './run-alarm'
import { armDueRuns, RunAlarms } from './run-alarms'
import { guardedWaitUntil } from './wait-until-guard'
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

/**
 * `waitUntil` may run ~30 s past the response: without alarms, background runs yield before that and the sweeper
 * resumes them. (With alarms only a `?wait` start that outlives its response executes there.)
 */
const BACKGROUND_BUDGET_MS = 25_000
/** Cron invocations of a `* * * * *` trigger may run for 30 s of wall time; leave room to commit. */
const SWEEP_BUDGET_MS = 25_000
const SWEEP_LIMIT = 25

/** The runtime of a Worker, with its runs' alarms when `RUN_ALARMS` is bound. */
interface WorkerRuntime extends Runtime {
  readonly alarms: RunAlarms | undefined
  /** `BACKGROUND_BUDGET_MS`: how long one alarm executes a run before the next continues it. */
  readonly alarmBudgetMs: number
  /** `WAIT_UNTIL_LIMIT_MS`: `waitUntil` work still pending after this is reported; undefined: not checked. */
  readonly waitUntilLimitMs: number | undefined
}


/** Builds the Worker's handlers for `workflows`, and its `RunAlarm` Durable Object class. */
export function createWorker<Env extends WorkerEnv>(options: WorkerOptions<Env>) {
  let cached: { key: string; runtime: Promise<WorkerRuntime> } | undefined

  async function runtimeFor(env: Env): Promise<WorkerRuntime> {
    // The alarms binding is no setting of env-keys.ts, but shapes the runtime too.
    const bound = 'RUN_ALARMS' in env && env.RUN_ALARMS !== undefined
    const key = `${await configFingerprint(env)}:${bound}`
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
      let runtime: WorkerRuntime
      try {
        runtime = await runtimeFor(env)
      } catch (err) {
        return startupFailure(err, loggerFor(env))
      }
      const response = await runtime.app.fetch(request, env, ctx)
      // A `?wait` run that yielded armed its alarm just now: the response must not cut that short.
      if (runtime.alarms) guardedWaitUntil(ctx, runtime.waitUntilLimitMs, runtime.logger, runtime.alarms.flush())
      return response
    },

    async scheduled(_controller: unknown, env: Env, ctx: ExecutionContext): Promise<void> {
      ctx.waitUntil(
        runtimeFor(env).then(
          async (runtime) => {
            // The cron trigger fires schedule ticks (a minute's granularity); their runs are due at once, so the
            // alarms armed next (or the sweep, which fires them itself) execute them.
            if (runtime.alarms) {
              await runtime.engine.fireSchedules()
              await armDueRuns(runtime, runtime.alarms, SWEEP_LIMIT)
              await deliverWebhooks(runtime)
            } else await sweep(runtime, { limit: SWEEP_LIMIT, budgetMs: SWEEP_BUDGET_MS }, 'cron')
          },
          (err: unknown) => loggerFor(env).log('error', 'sweep_failed', errorFields(err)),
        ),
      )
    },

    /** The Durable Object class of wrangler.toml's `RUN_ALARMS` binding: export it as `RunAlarm`. */
    RunAlarm: runAlarmClass<Env>({ runtimeFor, loggerFor }),
  }
}

async function buildRuntime<Env extends WorkerEnv>(env: Env, options: WorkerOptions<Env>): Promise<WorkerRuntime> {
  const settings = readSettings(env, 'worker')
  const alarmBudgetMs = readInteger(env, 'BACKGROUND_BUDGET_MS') ?? DEFAULT_BACKGROUND_BUDGET_MS
  const waitUntilLimitMs = readInteger(env, 'WAIT_UNTIL_LIMIT_MS') || undefined
  const logger = jsonLogger(settings.logLevel)
  const namespace = (env as { RUN_ALARMS?: DurableObjectNamespaceLike }).RUN_ALARMS
  // A memory store lives in one isolate, and a run's object may run in another that never saw the run.
  const alarms = namespace === undefined || settings.store === 'memory' ? undefined : new RunAlarms(namespace, logger)
  const { dynamodb } = options.stores ?? {}
  const store = await openStore(settings.store, settings.database, {
    libsql: remoteLibSQLStore,
    ...(dynamodb ? { dynamodb: () => dynamodb(env) } : {}),
    missingDynamoDB:
      'STORE=dynamodb needs the DynamoDB build of the Worker, which bundles the AWS SDK: ' +
      '`wrangler deploy -c wrangler.dynamodb.toml` (entry src/worker-dynamodb.ts)',
  })
  const runtime = composeRuntime({
    store,
    workflows: options.workflows,
    deps: options.deps ? options.deps(env) : (env as unknown as StepDeps),
    logger,
    engine: {
      // workerd refuses I/O on behalf of another request: only the run's own request may wake its loop.
      isolatedRequests: true,
      ...(alarms ? { onYield: (runId: string, dueAt: number) => alarms.yielded(runId, dueAt) } : {}),
      leaseMs: settings.leaseMs,
      retentionMs: settings.retentionMs,
    },
    apiTokens: settings.apiTokens,
    uiSessionSecret: settings.uiSessionSecret,
    webhooks: settings.webhooks,
    maxBodyBytes: settings.maxBodyBytes,
    waitBudgetMs: settings.waitBudgetMs,
    executeInBackground: (task, c) => guardedWaitUntil(c.executionCtx, waitUntilLimitMs, logger, task),
    backgroundBudgetMs: BACKGROUND_BUDGET_MS,
    ...(alarms ? { scheduleRun: (runId: string) => alarms.arm(runId, Date.now()) } : {}),
  })
  return { ...runtime, alarms, alarmBudgetMs, waitUntilLimitMs }
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
