/**
 * @module
 * Node entry (`npm start`): the same runtime as the Worker (`runtime.ts`) on `@hono/node-server`, the embedded
 * LibSQL file by default, the sweeper (a timer armed for the earliest due run, `wake-timer.ts`, with a periodic
 * poll as the safety net), and a graceful shutdown that gives running steps a grace period, records the ones still
 * running after it as interrupted, and releases every lease before the process exits.
 *
 * Environment: the settings of `env-keys.ts` (the README's Configuration lists them), read by the same code as
 * the Worker's bindings; `DATABASE_URL` and `DATABASE_AUTH_TOKEN` are accepted as the older names of
 * `TURSO_DATABASE_URL` and `TURSO_AUTH_TOKEN`. Use {@link startNodeServer} to embed it.
 */
import type { AddressInfo } from 'node:net'
import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { serve, type ServerType } from '@hono/node-server'
import type { Clock } from './core/clock'
import { DEFAULT_SHUTDOWN_GRACE_MS, type Engine } from './core/engine'
import { jsonLogger, type Logger } from './core/logger'
import type { StepDeps } from './core/step'
import type { WorkflowStore } from './core/store'
import type { AnyWorkflow } from './core/workflow'
import { readInteger, readRetentionMs, readSettings, readString, type WebhookSettings } from './runtime/env-config'
import { DEFAULT_DATABASE_URL, DEFAULT_SWEEP_INTERVAL_MS, type NodeEnv } from './runtime/env-keys'
import { composeRuntime, errorFields, openStore, sweep } from './runtime/compose'
import { WakeTimer } from './runtime/wake-timer'
import { createLibSQLStore } from './store/libsql/create-libsql-store'
import type { FileFault } from './store/libsql/file-identity'
import { registeredWorkflows } from './registry'

export { DEFAULT_DATABASE_URL, DEFAULT_SWEEP_INTERVAL_MS } from './runtime/env-keys'

export interface NodeServerOptions {
  /** 0 picks a free port. @default 3000 */
  readonly port?: number
  /** @default '127.0.0.1' */
  readonly host?: string
  /** Accepted bearer tokens; none closes the API. */
  readonly apiTokens: readonly string[]
  /** A ready store, owned by the caller (not closed by `close()`). @default LibSQL at `databaseUrl` */
  readonly store?: WorkflowStore
  /** @default 'file:./.data/gorkflow.db' */
  readonly databaseUrl?: string
  readonly databaseAuthToken?: string
  /** @default the registered workflows (`src/registry.ts`) */
  readonly workflows?: readonly AnyWorkflow[]
  readonly deps?: StepDeps
  readonly leaseMs?: number
  /**
   * The sweeper deletes terminal runs (with their steps, state and events) finished longer ago than this.
   * @default keep forever
   */
  readonly retentionMs?: number
  /**
   * How often the sweeper polls for due runs, in ms: the safety net behind its timer, which wakes it when the
   * earliest known run comes due. 0 turns the sweeper off, timer and all. @default 5000
   */
  readonly sweepIntervalMs?: number
  /** Retry delays and sleeps up to this are waited inline; longer ones yield to the sweeper (engine option). */
  readonly inlineDelayLimitMs?: number
  /**
   * How long `close()` lets running steps finish before it aborts them through `ctx.signal`, records them as
   * interrupted and releases their runs (the engine's `shutdownGraceMs`). @default 5000
   */
  readonly shutdownGraceMs?: number
  readonly maxBodyBytes?: number
  readonly waitBudgetMs?: number
  /** Key of the dashboard's session cookies. @default derived from the API tokens */
  readonly uiSessionSecret?: string
  /** Completion webhooks (WEBHOOK_SECRET, WEBHOOK_ALLOW_PRIVATE). @default none: `callbackUrl` is refused */
  readonly webhooks?: WebhookSettings
  /** Delay before a failed webhook's second attempt, doubling after. @default 30_000 */
  readonly webhookRetryMs?: number
  /** @default jsonLogger('info') */
  readonly logger?: Logger
}

export interface NodeServer {
  /** `http://host:port` */
  readonly url: string
  readonly port: number
  readonly engine: Engine
  readonly store: WorkflowStore
  /**
   * Stops accepting requests and sweeping, lets running steps finish within `shutdownGraceMs` (interrupting the
   * rest), releases every lease with the run due at once, and closes the store it opened.
   */
  close(): Promise<void>
}

/** Starts the API on Node and resolves once it listens. */
export async function startNodeServer(options: NodeServerOptions): Promise<NodeServer> {
  const logger = options.logger ?? jsonLogger('info')
  const ownsStore = options.store === undefined
  const store =
    options.store ??
    (await createLibSQLStore({
      url: options.databaseUrl ?? DEFAULT_DATABASE_URL,
      ...(options.databaseAuthToken ? { authToken: options.databaseAuthToken } : {}),
      onFileFault: logFileFault(logger),
    }))
  // Armed below once the runtime exists; the engine tells it of every run this process yields.
  let wake: WakeTimer | undefined
  const runtime = composeRuntime({
    store,
    workflows: options.workflows ?? registeredWorkflows,
    logger,
    deps: options.deps,
    engine: {
      leaseMs: options.leaseMs,
      retentionMs: options.retentionMs,
      inlineDelayLimitMs: options.inlineDelayLimitMs,
      shutdownGraceMs: options.shutdownGraceMs,
      onYield: (_runId, dueAt) => wake?.notify(dueAt),
    },
    apiTokens: options.apiTokens,
    uiSessionSecret: options.uiSessionSecret,
    webhooks: options.webhooks,
    webhookRetryMs: options.webhookRetryMs,
    maxBodyBytes: options.maxBodyBytes,
    waitBudgetMs: options.waitBudgetMs,
    // Node keeps running after the response; the engine tracks the execution and shutdown waits for it.
    executeInBackground: () => {},
  })
  const { engine, app } = runtime

  const server = await new Promise<ServerType>((resolveServer, reject) => {
    const s = serve({ fetch: app.fetch, port: options.port ?? 3000, hostname: options.host ?? '127.0.0.1' }, () =>
      resolveServer(s),
    )
    s.once('error', reject)
  })
  const address = server.address() as AddressInfo
  const url = `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`

  const sweepIntervalMs = options.sweepIntervalMs ?? DEFAULT_SWEEP_INTERVAL_MS
  const budgetMs = Math.max(sweepIntervalMs * 4, 10_000)
  wake =
    sweepIntervalMs > 0
      ? new WakeTimer({
          clock: unrefClock,
          sweep: async (trigger) => (await sweep(runtime, { budgetMs }, trigger))?.claimed ?? 0,
          // The next schedule tick is a due time too: the timer that wakes sleeping runs fires scheduled starts.
          nextDueAt: async () => earliest(await store.nextDueAt(), engine.nextScheduledTick()),
          onError: (err) => logger.log('error', 'wake_timer_failed', errorFields(err)),
        })
      : undefined
  const sweeper = wake
  const timer = sweeper ? setInterval(() => void sweeper.sweepNow('poll'), sweepIntervalMs) : undefined
  timer?.unref()
  void sweeper?.sweepNow('start') // runs left over by a previous process resume at once

  let closing: Promise<void> | undefined
  return {
    url,
    port: address.port,
    engine,
    store,
    close() {
      closing ??= (async () => {
        clearInterval(timer)
        const closed = new Promise<void>((done) => {
          server.close(() => done())
          if ('closeIdleConnections' in server) server.closeIdleConnections()
        })
        // No new sweep; then the engine, before the sweeps in flight end: they end when their runs yield, and a
        // request waiting on its run (`?wait=true`) answers then.
        const sweepsEnded = sweeper?.stop()
        await engine.shutdown()
        await sweepsEnded
        if ('closeIdleConnections' in server) server.closeIdleConnections()
        await closed
        if (ownsStore) await store.close()
      })()
      return closing
    },
  }
}

function earliest(a: number | null, b: number | null): number | null {
  return a === null ? b : b === null ? a : Math.min(a, b)
}

/** Real time whose timers do not keep the process alive, as the poll's interval does not. */
const unrefClock: Pick<Clock, 'now' | 'timer'> = {
  now: () => Date.now(),
  timer: (ms, callback) => {
    const handle = setTimeout(callback, ms)
    handle.unref()
    return () => clearTimeout(handle)
  },
}

/**
 * How long after the grace period shutdown may take to commit the interrupted attempts and release the leases.
 * Only a store that stopped answering needs it; the process then exits 1 and its leases expire on their own.
 */
const SHUTDOWN_COMMIT_MS = 10_000

/** The numeric knobs of {@link NodeServerOptions} that the environment sets, each checked. */
export type NodeEnvOptions = Pick<
  NodeServerOptions,
  'port' | 'sweepIntervalMs' | 'leaseMs' | 'retentionMs' | 'maxBodyBytes' | 'waitBudgetMs' | 'shutdownGraceMs'
>

/**
 * Reads PORT, SWEEP_INTERVAL_MS, LEASE_MS, RETENTION_DAYS, MAX_BODY_BYTES, WAIT_BUDGET_MS and SHUTDOWN_GRACE_MS;
 * unset ones are left out (their defaults apply).
 * @throws Error naming the variable when one is not a non-negative integer
 */
export function nodeOptionsFromEnv(env: NodeEnv): NodeEnvOptions {
  const options: Record<string, number | undefined> = {
    port: readInteger(env, 'PORT'),
    sweepIntervalMs: readInteger(env, 'SWEEP_INTERVAL_MS'),
    leaseMs: readInteger(env, 'LEASE_MS'),
    retentionMs: readRetentionMs(env),
    maxBodyBytes: readInteger(env, 'MAX_BODY_BYTES'),
    waitBudgetMs: readInteger(env, 'WAIT_BUDGET_MS'),
    shutdownGraceMs: readInteger(env, 'SHUTDOWN_GRACE_MS'),
  }
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as NodeEnvOptions
}

/** A `file:` database's files deleted, replaced or truncated under the server (file-identity.ts): /health answers 503 too. */
function logFileFault(logger: Logger): (fault: FileFault) => void {
  return ({ reason, path }) => logger.log('error', 'store_file_fault', { reason, path })
}

async function main(): Promise<void> {
  const env = process.env
  // Every setting is checked before anything is opened: a typo stops the start with the variable's name.
  const settings = readSettings(env, 'node')
  const knobs = nodeOptionsFromEnv(env)
  const logger = jsonLogger(settings.logLevel)
  // The SDK warns on every start that Node 20 is past its end of life; the engines field says so already.
  if (settings.store === 'dynamodb') process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true'
  const store = await openStore(settings.store, settings.database, {
    libsql: (database) => createLibSQLStore({ ...(database ?? { url: DEFAULT_DATABASE_URL }), onFileFault: logFileFault(logger) }),
    dynamodb: async () => (await import('./runtime/dynamodb-store-from-env')).dynamoDBStoreFromEnv(env, { defaultCredentials: true }),
  })

  const server = await startNodeServer({
    port: 3000,
    ...knobs,
    host: readString(env, 'HOST') ?? '127.0.0.1',
    apiTokens: settings.apiTokens,
    logger,
    store,
    uiSessionSecret: settings.uiSessionSecret,
    webhooks: settings.webhooks,
  })
  const where = settings.store === 'libsql' ? displayDatabase(settings.database?.url ?? DEFAULT_DATABASE_URL) : settings.store
  console.log(`Gorkflow listening on ${server.url} (store: ${where}); dashboard at ${server.url}/ui`)
  if (settings.apiTokens.length === 0) {
    logger.log('warn', 'api_closed', { reason: 'API_TOKEN is not set: every /v1 request is refused; start with API_TOKEN=<a long random string>' })
  }

  exitOnSignals(server, { logger, graceMs: knobs.shutdownGraceMs ?? DEFAULT_SHUTDOWN_GRACE_MS, closeStore: () => store.close() })
}

/**
 * On SIGTERM or SIGINT: `server.close()` (running steps get `graceMs`, then are interrupted and their runs
 * released), then `closeStore`, then exit 0 — without waiting for handlers that ignore their signal. Exits 1
 * when that takes over `graceMs` + 10 s, which only a store that no longer answers causes.
 */
export function exitOnSignals(
  server: Pick<NodeServer, 'close'>,
  options: { readonly logger: Logger; readonly graceMs: number; readonly closeStore?: () => Promise<void> },
): void {
  const { logger, graceMs } = options
  let stopping = false
  const stop = (signal: string): void => {
    if (stopping) return
    stopping = true
    logger.log('info', 'shutdown_started', { signal, grace_ms: graceMs })
    const timeoutMs = graceMs + SHUTDOWN_COMMIT_MS
    const forced = setTimeout(() => {
      logger.log('error', 'shutdown_timed_out', { timeout_ms: timeoutMs, reason: 'the store did not answer; exiting, leases expire on their own' })
      process.exit(1)
    }, timeoutMs)
    forced.unref()
    server
      .close()
      .then(() => options.closeStore?.())
      .then(
        () => {
          logger.log('info', 'shutdown_finished', { signal })
          process.exit(0)
        },
        (err: unknown) => {
          logger.log('error', 'shutdown_failed', errorFields(err))
          process.exit(1)
        },
      )
  }
  process.once('SIGINT', () => stop('SIGINT'))
  process.once('SIGTERM', () => stop('SIGTERM'))
}

/** A database URL fit for the console: a file's absolute path, or a remote URL without credentials or query. */
function displayDatabase(url: string): string {
  if (url.startsWith('file:')) return `file:${resolve(url.slice('file:'.length))}`
  return url.replace(/\/\/[^/@]*@/, '//').replace(/[?#].*$/, '')
}

const invoked = process.argv[1]
if (invoked !== undefined && import.meta.url === pathToFileURL(resolve(invoked)).href) {
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : String(err))
    process.exit(1)
  })
}
