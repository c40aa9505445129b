/**
 * @module
 * Node entry (`npm start`): the same Hono app on `@hono/node-server`, the embedded LibSQL file by default, the
 * sweeper on a timer, and a graceful shutdown that lets running steps reach a commit and releases leases.
 *
 * Environment: PORT (3000), HOST (127.0.0.1), API_TOKEN, STORE (libsql | memory | dynamodb), DATABASE_URL
 * (file:./.data/gorkflow.db; `libsql://`/`https://`/`http://` for a remote database), DATABASE_AUTH_TOKEN,
 * SWEEP_INTERVAL_MS (5000), LEASE_MS, RETENTION_DAYS (unset: keep finished runs forever), LOG_LEVEL, MAX_BODY_BYTES,
 * WAIT_BUDGET_MS, UI_SESSION_SECRET, and for STORE=dynamodb the Worker's DYNAMODB_* and AWS_* variables. Use
 * {@link startNodeServer} to embed it.
 */
import type { AddressInfo } from 'node:net'
import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { serve, type ServerType } from '@hono/node-server'
import { Engine } from './core/engine'
import { jsonLogger, parseLogLevel, type Logger } from './core/logger'
import type { StepDeps } from './core/step'
import type { AnyWorkflow } from './core/workflow'
import { createApp } from './http/app'
import { parseApiTokens } from './http/auth'
import { createUiApp } from './http/ui/ui-app'
import { createLibSQLStore } from './store/libsql/create-libsql-store'
import { MemoryStore } from './store/memory/memory-store'
import type { WorkflowStore } from './core/store'
import { readInteger, readRetentionMs } from './env-config'
import type { WorkerEnv } from './worker'
import { exampleWorkflows } from './workflows'

export const DEFAULT_DATABASE_URL = 'file:./.data/gorkflow.db'
export const DEFAULT_SWEEP_INTERVAL_MS = 5_000

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
  /** @default the example workflows */
  readonly workflows?: readonly AnyWorkflow[]
  readonly deps?: StepDeps
  readonly leaseMs?: number
  /**
   * The sweeper deletes terminal runs (with their steps, state and events) finished longer ago than this.
   * @default keep forever
   */
  readonly retentionMs?: number
  /** How often the sweeper looks for due runs, in ms; 0 turns it off. @default 5000 */
  readonly sweepIntervalMs?: number
  readonly maxBodyBytes?: number
  readonly waitBudgetMs?: number
  /** Key of the dashboard's session cookies. @default derived from the API tokens */
  readonly uiSessionSecret?: string
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
   * Stops accepting requests and sweeping, lets running steps reach their next commit, releases every lease,
   * and closes the store it opened.
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
    }))
  const engine = new Engine({
    store,
    workflows: options.workflows ?? exampleWorkflows,
    logger,
    ...(options.deps === undefined ? {} : { deps: options.deps }),
    ...(options.leaseMs === undefined ? {} : { leaseMs: options.leaseMs }),
    ...(options.retentionMs === undefined ? {} : { retentionMs: options.retentionMs }),
  })
  const app = createApp({
    engine,
    apiTokens: options.apiTokens,
    // Node keeps running after the response; the engine tracks the execution and shutdown waits for it.
    executeInBackground: () => {},
    ...(options.maxBodyBytes === undefined ? {} : { maxBodyBytes: options.maxBodyBytes }),
    ...(options.waitBudgetMs === undefined ? {} : { waitBudgetMs: options.waitBudgetMs }),
    logError: ({ event, method, route, error }) =>
      logger.log('error', event, {
        method,
        route,
        error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
        stack: error instanceof Error ? (error.stack ?? null) : null,
      }),
  })

  // The dashboard (docs/ui.md): signs in with the same tokens, its own cookie session, HTML errors.
  app.route(
    '/ui',
    createUiApp({
      engine,
      apiTokens: options.apiTokens,
      sessionSecret: options.uiSessionSecret,
      executeInBackground: () => {},
      logError: (error) =>
        logger.log('error', 'ui_error', { error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) }),
    }),
  )

  const server = await new Promise<ServerType>((resolveServer, reject) => {
    const s = serve({ fetch: app.fetch, port: options.port ?? 3000, hostname: options.host ?? '127.0.0.1' }, () =>
      resolveServer(s),
    )
    s.once('error', reject)
  })
  const address = server.address() as AddressInfo
  const url = `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`

  const sweepIntervalMs = options.sweepIntervalMs ?? DEFAULT_SWEEP_INTERVAL_MS
  let sweeping: Promise<void> | null = null
  const sweep = (): void => {
    if (sweeping) return // the previous sweep is still working through its runs
    sweeping = engine
      .resumeDue({ budgetMs: Math.max(sweepIntervalMs * 4, 10_000) })
      .then((result) => {
        if (result.claimed > 0) logger.log('info', 'sweep_finished', { ...result })
      })
      .catch((err: unknown) => logger.log('error', 'sweep_failed', { error: err instanceof Error ? err.message : String(err) }))
      .finally(() => {
        sweeping = null
      })
  }
  const timer = sweepIntervalMs > 0 ? setInterval(sweep, sweepIntervalMs) : undefined
  timer?.unref()
  if (timer) sweep() // runs left over by a previous process resume at once

  let closing: Promise<void> | undefined
  return {
    url,
    port: address.port,
    engine,
    store,
    close() {
      closing ??= (async () => {
        clearInterval(timer)
        await new Promise<void>((done) => {
          server.close(() => done())
          if ('closeIdleConnections' in server) server.closeIdleConnections()
        })
        await sweeping
        await engine.shutdown()
        if (ownsStore) await store.close()
      })()
      return closing
    },
  }
}

/** How long shutdown waits for running steps before it gives up; their leases then expire on their own. */
const SHUTDOWN_TIMEOUT_MS = 15_000

/** The numeric knobs of {@link NodeServerOptions} that the environment sets, each checked. */
export type NodeEnvOptions = Pick<
  NodeServerOptions,
  'port' | 'sweepIntervalMs' | 'leaseMs' | 'retentionMs' | 'maxBodyBytes' | 'waitBudgetMs'
>

/**
 * Reads PORT, SWEEP_INTERVAL_MS, LEASE_MS, RETENTION_DAYS, MAX_BODY_BYTES and WAIT_BUDGET_MS; unset ones are
 * left out (their defaults apply).
 * @throws Error naming the variable when one is not a non-negative integer
 */
export function nodeOptionsFromEnv(env: Readonly<Record<string, string | undefined>>): NodeEnvOptions {
  const options: Record<string, number | undefined> = {
    port: readInteger(env, 'PORT'),
    sweepIntervalMs: readInteger(env, 'SWEEP_INTERVAL_MS'),
    leaseMs: readInteger(env, 'LEASE_MS'),
    retentionMs: readRetentionMs(env),
    maxBodyBytes: readInteger(env, 'MAX_BODY_BYTES'),
    waitBudgetMs: readInteger(env, 'WAIT_BUDGET_MS'),
  }
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as NodeEnvOptions
}

async function main(): Promise<void> {
  const env = process.env
  // Every knob is checked before anything is opened: a typo stops the start with the variable's name.
  const knobs = nodeOptionsFromEnv(env)
  const logger = jsonLogger(parseLogLevel(env.LOG_LEVEL, 'info'))
  const apiTokens = parseApiTokens(env.API_TOKEN)
  const storeKind = (env.STORE ?? 'libsql').trim().toLowerCase()
  let store: WorkflowStore | undefined
  if (storeKind === 'memory') store = new MemoryStore()
  else if (storeKind === 'dynamodb') {
    // The SDK warns on every start that Node 20 is past its end of life; the engines field says so already.
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true'
    const { dynamoDBStoreFromEnv } = await import('./worker-dynamodb')
    store = await dynamoDBStoreFromEnv(env as WorkerEnv, { defaultCredentials: true })
  } else if (storeKind !== 'libsql') throw new Error(`STORE must be libsql, memory or dynamodb, got ${JSON.stringify(env.STORE)}`)

  const server = await startNodeServer({
    port: 3000,
    ...knobs,
    host: env.HOST || '127.0.0.1',
    apiTokens,
    logger,
    ...(store ? { store } : {}),
    databaseUrl: env.DATABASE_URL || DEFAULT_DATABASE_URL,
    ...(env.UI_SESSION_SECRET ? { uiSessionSecret: env.UI_SESSION_SECRET } : {}),
    ...(env.DATABASE_AUTH_TOKEN ? { databaseAuthToken: env.DATABASE_AUTH_TOKEN } : {}),
  })
  const where = store ? storeKind : resolveDatabase(env.DATABASE_URL || DEFAULT_DATABASE_URL)
  console.log(`Gorkflow listening on ${server.url} (store: ${where}); dashboard at ${server.url}/ui`)
  if (apiTokens.length === 0) {
    console.warn('API_TOKEN is not set: every /v1 request is refused. Start with API_TOKEN=<a long random string>.')
  }

  let stopping = false
  const stop = (signal: string): void => {
    if (stopping) return
    stopping = true
    console.log(`${signal}: shutting down`)
    const forced = setTimeout(() => {
      console.error(`shutdown took over ${SHUTDOWN_TIMEOUT_MS} ms; exiting (leases expire on their own)`)
      process.exit(1)
    }, SHUTDOWN_TIMEOUT_MS)
    forced.unref()
    server.close().then(
      () => process.exit(0),
      (err: unknown) => {
        console.error(err)
        process.exit(1)
      },
    )
  }
  process.once('SIGINT', () => stop('SIGINT'))
  process.once('SIGTERM', () => stop('SIGTERM'))
}

function resolveDatabase(url: string): string {
  return url.startsWith('file:') ? `file:${resolve(url.slice('file:'.length))}` : url.replace(/\/\/[^/@]*@/, '//')
}

const invoked = process.argv[1]
if (invoked !== undefined && import.meta.url === pathToFileURL(resolve(invoked)).href) {
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : String(err))
    process.exit(1)
  })
}
