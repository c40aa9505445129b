/**
 * @module
 * The composition both entries share: store choice, engine, API and dashboard, error logging and the sweep.
 * `worker.ts` and `node.ts` differ only in what is truly theirs: how settings arrive (bindings per event,
 * `process.env` once), which store builds they carry (the Worker bundle has no file store and, by default, no
 * AWS SDK, so stores come as factories), and how work outlives a response (`waitUntil` or just running on).
 */
import type { Context } from 'hono'
import { Engine, type EngineOptions, type SweepOptions, type SweepResult } from '../core/engine'
import type { LogFields, Logger } from '../core/logger'
import type { StepDeps } from '../core/step'
import type { WorkflowStore } from '../core/store'
import type { AnyWorkflow } from '../core/workflow'
import { ConfigurationError, type DatabaseSettings, type StoreKindSetting, type WebhookSettings } from './env-config'
import { WebhookDeliveries, type DeliveryResult } from './webhook-deliveries'
import { createApp } from '../http/app'
import { createUiApp } from '../http/ui/ui-app'
import { OperatorMetrics } from '../http/operator-metrics'
import { MemoryStore } from '../store/memory/memory-store'

/** The store builds an entry carries; memory is always there. */
export interface StoreBuilds {
  readonly libsql: (database: DatabaseSettings | undefined) => Promise<WorkflowStore>
  /** Absent from a bundle that leaves the AWS SDK out; `missingDynamoDB` then says what to deploy instead. */
  readonly dynamodb?: () => Promise<WorkflowStore>
  readonly missingDynamoDB?: string
}

/** Opens the store `kind` names. @throws ConfigurationError when this build has no such store */
export async function openStore(
  kind: StoreKindSetting,
  database: DatabaseSettings | undefined,
  builds: StoreBuilds,
): Promise<WorkflowStore> {
  if (kind === 'memory') return new MemoryStore()
  if (kind === 'libsql') return builds.libsql(database)
  if (builds.dynamodb) return builds.dynamodb()
  throw new ConfigurationError(builds.missingDynamoDB ?? 'STORE=dynamodb is not available in this build')
}

export interface RuntimeOptions {
  readonly store: WorkflowStore
  readonly workflows: readonly AnyWorkflow[]
  readonly deps?: StepDeps
  readonly logger: Logger
  /** Engine knobs beyond store, workflows, deps and logger. */
  readonly engine?: Omit<EngineOptions, 'store' | 'workflows' | 'deps' | 'logger'>
  readonly apiTokens: readonly string[]
  /** Key of the dashboard's session cookies. @default derived from the API tokens */
  readonly uiSessionSecret?: string | undefined
  /** Completion webhooks (WEBHOOK_SECRET, WEBHOOK_ALLOW_PRIVATE); without them a start's `callbackUrl` is refused. */
  readonly webhooks?: WebhookSettings | undefined
  /** Delay before a failed webhook's second attempt (doubling after). @default 30_000 */
  readonly webhookRetryMs?: number
  readonly maxBodyBytes?: number
  readonly waitBudgetMs?: number
  /** Keeps a run executing after the response: `waitUntil` on Workers; nothing to do on Node. */
  readonly executeInBackground: (task: Promise<unknown>, c: Context) => void
  /** Execution budget of runs that continue after the response, in ms. @default the engine's (unbounded) */
  readonly backgroundBudgetMs?: number
  /** Arms a run on the platform's scheduler instead of executing it after the response (the app's option). */
  readonly scheduleRun?: (runId: string) => Promise<void>
}

export interface Runtime {
  readonly engine: Engine
  /** The API with the dashboard under `/ui`. */
  readonly app: ReturnType<typeof createApp>
  readonly store: WorkflowStore
  readonly logger: Logger
  /** This process's counters behind `GET /v1/metrics`; webhooks report failed deliveries here. */
  readonly metrics: OperatorMetrics
  /** Sends due completion webhooks; each sweep calls it. Null without WEBHOOK_SECRET. */
  readonly webhooks: WebhookDeliveries | null
}

/** Builds the engine and the app (API and dashboard) over a ready store; unexpected errors go to `logger`. */
export function composeRuntime(options: RuntimeOptions): Runtime {
  const { store, logger } = options
  const metrics = new OperatorMetrics()
  const engine = new Engine({
    onAttemptFinished: metrics.attemptFinished,
    ...options.engine,
    store,
    workflows: options.workflows,
    logger,
    deps: options.deps,
  })
  const background = {
    executeInBackground: options.executeInBackground,
    backgroundBudgetMs: options.backgroundBudgetMs,
    scheduleRun: options.scheduleRun,
  }
  const app = createApp({
    engine,
    apiTokens: options.apiTokens,
    metrics,
    ...background,
    maxBodyBytes: options.maxBodyBytes,
    waitBudgetMs: options.waitBudgetMs,
    ...(options.webhooks === undefined ? {} : { webhooks: { allowPrivate: options.webhooks.allowPrivate } }),
    logError: ({ event, method, route, error }) => logger.log('error', event, { method, route, ...errorFields(error) }),
  })
  // The dashboard (docs/ui.md): signs in with the same tokens, its own cookie session, HTML errors.
  app.route(
    '/ui',
    createUiApp({
      engine,
      apiTokens: options.apiTokens,
      sessionSecret: options.uiSessionSecret || undefined,
      ...background,
      logError: (error) => logger.log('error', 'ui_error', errorFields(error)),
    }),
  )
  const webhooks =
    options.webhooks === undefined
      ? null
      : new WebhookDeliveries({
          store,
          logger,
          ...options.webhooks,
          retryMs: options.webhookRetryMs,
          onFailure: () => metrics.webhookFailed(),
        })
  return { engine, app, store, logger, metrics, webhooks }
}

/**
 * One sweep (`engine.fireSchedules`, then `engine.resumeDue`, then the due completion webhooks), logged the same way on
 * both entries: `sweep_finished` (info when it claimed, deleted or delivered anything, debug otherwise; with `trigger`,
 * what started it, when given) or `sweep_failed`. Webhooks have their own try and log (`webhooks_failed`): a fault
 * listing them neither hides the sweep's result nor stops a failed sweep's deliveries. Never rejects: resolves with the
 * sweep's result, or null when it failed.
 */
export async function sweep(
  runtime: Pick<Runtime, 'engine' | 'logger'> & { readonly webhooks?: WebhookDeliveries | null },
  options: SweepOptions,
  trigger?: string,
): Promise<SweepResult | null> {
  const started = Date.now()
  let swept: { readonly result: SweepResult; readonly scheduled: number } | null
  try {
    // Scheduled starts first: the runs their ticks create are due at once, and this very sweep executes them.
    const scheduled = await runtime.engine.fireSchedules()
    swept = { result: await runtime.engine.resumeDue(options), scheduled }
  } catch (err) {
    runtime.logger.log('error', 'sweep_failed', errorFields(err))
    swept = null
  }
  // After the runs: a run this sweep finished gets its webhook in the same sweep.
  const webhooks = (await deliverDue(runtime)) ?? { attempted: 0, delivered: 0 }
  if (swept === null) return null
  const { result, scheduled } = swept
  runtime.logger.log(result.claimed + result.deleted + scheduled + webhooks.attempted > 0 ? 'info' : 'debug', 'sweep_finished', {
    ...result,
    scheduled,
    webhooks_attempted: webhooks.attempted,
    webhooks_delivered: webhooks.delivered,
    ...(trigger === undefined ? {} : { trigger }),
    duration_ms: Date.now() - started,
  })
  return result
}

/**
 * The due completion webhooks, where a tick does not sweep (a Worker whose runs have alarms): logged like a sweep's,
 * never rejects.
 */
export async function deliverWebhooks(runtime: Pick<Runtime, 'logger' | 'webhooks'>): Promise<void> {
  const result = await deliverDue(runtime)
  if (result === null) return
  runtime.logger.log(result.attempted > 0 ? 'info' : 'debug', 'webhooks_swept', { ...result })
}

/** The due deliveries' counts; null without webhooks or when they failed, which is logged as `webhooks_failed`. */
async function deliverDue(runtime: Pick<Runtime, 'logger'> & { readonly webhooks?: WebhookDeliveries | null }): Promise<DeliveryResult | null> {
  if (!runtime.webhooks) return null
  try {
    return await runtime.webhooks.deliverDue()
  } catch (err) {
    runtime.logger.log('error', 'webhooks_failed', errorFields(err))
    return null
  }
}

/**
 * How an error is logged: `error` is `Name: message`, `stack` the stack. A {@link ConfigurationError} gets no
 * stack: it is expected until fixed, and its message says it all.
 */
export function errorFields(err: unknown): LogFields {
  if (!(err instanceof Error)) return { error: String(err) }
  return { error: `${err.name}: ${err.message}`, stack: err instanceof ConfigurationError ? null : (err.stack ?? null) }
}
