/**
 * @module
 * `npm run dev`: the Worker under `wrangler dev` with a persistent local database, nothing to install.
 *
 * 1. Unless TURSO_DATABASE_URL is set (environment or .dev.vars), starts the local libSQL endpoint
 *    (`scripts/libsql-server/`) on `.data/dev.db`, migrated first, with a token provisioned once into `.dev.vars`
 *    as TURSO_AUTH_TOKEN (wrangler dev reads it there, so it never shows in a command line).
 * 2. Provisions a dev API token once into `.dev.vars` (git-ignored) and prints it with a ready-to-paste curl.
 * 3. Runs `wrangler dev --ip 127.0.0.1 --port 8787` offline and quiet (no metrics, config under `.xdg/`).
 * 4. Fires the cron trigger every minute, as Cloudflare would (`wrangler dev` does not), so the sweeper runs.
 * Ctrl-C stops everything it started.
 *
 * Options: `--port N` (8787), `--db FILE` (.data/dev.db), `--persist-to DIR` (wrangler's local state),
 * `--sweep-interval-ms N` (60000; 0 = off). With API_TOKEN in the environment, that token is used and
 * .dev.vars is left alone.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'
import type { WorkerKeyName } from '../src/runtime/env-keys'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const DEV_VARS = join(ROOT, '.dev.vars')
const WRANGLER = join(ROOT, 'node_modules', 'wrangler', 'bin', 'wrangler.js')
/** `wrangler dev` is ready in ~1.5 s here (STACK.md); a cold first bundle can take much longer. */
const READY_TIMEOUT_MS = 60_000

export interface DevOptions {
  readonly port: number
  readonly dbPath: string
  readonly persistTo?: string
  readonly sweepIntervalMs: number
  /** Use this token instead of provisioning one into .dev.vars (which is then left alone). */
  readonly apiToken?: string
  /** `local` always serves `dbPath`, even when TURSO_DATABASE_URL is set. @default 'auto' */
  readonly database?: 'auto' | 'local'
  /** Worker LOG_LEVEL binding. @default the configured one */
  readonly logLevel?: string
  /** wrangler's own log level (`warn` hides its request lines). @default wrangler's */
  readonly wranglerLogLevel?: 'debug' | 'info' | 'log' | 'warn' | 'error' | 'none'
  /** Echo wrangler's output. @default true */
  readonly inheritOutput?: boolean
  /** Another wrangler configuration (`-c`), e.g. examples/wrangler.tracing.toml. @default wrangler.toml */
  readonly config?: string
  /** More bindings, passed as `--var` like the database's. */
  readonly vars?: Readonly<Record<string, string>>
}

/**
 * Options of a dev stack that a test, probe or benchmark drives: its database and wrangler state in `dir`, its own
 * token, always the local database, no sweeper, quiet; `more` adds or overrides.
 */
export function drivenDevOptions(dir: string, port: number, apiToken: string, more: Partial<DevOptions> = {}): DevOptions {
  return {
    port,
    dbPath: join(dir, 'dev.db'),
    persistTo: join(dir, 'wrangler-state'),
    sweepIntervalMs: 0,
    apiToken,
    database: 'local',
    logLevel: 'warn',
    wranglerLogLevel: 'warn',
    inheritOutput: false,
    ...more,
  }
}

export interface DevSession {
  readonly url: string
  readonly token: string
  /** Where the Worker's database is: the local endpoint's URL or the user's TURSO_DATABASE_URL. */
  readonly databaseUrl: string
  /** Resolves with wrangler's exit code once it has exited. */
  readonly exited: Promise<number | null>
  stop(): Promise<void>
}

/** Environment that keeps wrangler offline, quiet and out of the home folder (STACK.md). */
export function wranglerEnv(): NodeJS.ProcessEnv {
  return {
    ...process.env,
    WRANGLER_SEND_METRICS: 'false',
    CI: 'true',
    CLOUDFLARE_CF_FETCH_ENABLED: 'false',
    WRANGLER_HIDE_BANNER: 'true',
    XDG_CONFIG_HOME: join(ROOT, '.xdg'),
  }
}

/** Reads KEY=VALUE lines of a dotenv-style file (no expansion; quotes stripped). */
export function readVars(path: string): Record<string, string> {
  if (!existsSync(path)) return {}
  const vars: Record<string, string> = {}
  for (const line of readFileSync(path, 'utf8').split(/\r?\n/)) {
    const match = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/.exec(line)
    if (!match || line.trimStart().startsWith('#')) continue
    vars[match[1]!] = match[2]!.replace(/^(['"])(.*)\1$/, '$2')
  }
  return vars
}

/** The dev token: API_TOKEN from the environment, else from .dev.vars, else a new one appended there. */
function provisionToken(given: string | undefined): { token: string; created: boolean } {
  if (given) return { token: given, created: false }
  const fromEnv = process.env.API_TOKEN?.split(',')[0]?.trim()
  if (fromEnv) return { token: fromEnv, created: false }
  const existing = readVars(DEV_VARS).API_TOKEN?.split(',')[0]?.trim()
  if (existing) return { token: existing, created: false }
  const token = `gkf_dev_${randomBytes(24).toString('base64url')}`
  appendDevVar('API_TOKEN', token)
  return { token, created: true }
}

/** The local endpoint's token: TURSO_AUTH_TOKEN from .dev.vars, else a new one appended there. */
function provisionDatabaseToken(): string {
  const existing = readVars(DEV_VARS).TURSO_AUTH_TOKEN?.trim()
  if (existing) return existing
  const token = randomBytes(24).toString('base64url')
  appendDevVar('TURSO_AUTH_TOKEN', token)
  return token
}

function appendDevVar(name: string, value: string): void {
  const before = existsSync(DEV_VARS) ? readFileSync(DEV_VARS, 'utf8') : ''
  const header = before === '' ? '# Local secrets for `wrangler dev` (git-ignored). Written by `npm run dev`.\n' : ''
  const separator = before === '' || before.endsWith('\n') ? '' : '\n'
  writeFileSync(DEV_VARS, `${before}${separator}${header}${name}=${value}\n`, { mode: 0o600 })
}

async function waitForHealth(url: string, child: ChildProcess, deadline: number): Promise<void> {
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`wrangler dev exited with code ${child.exitCode}`)
    try {
      const res = await fetch(`${url}/health`)
      if (res.ok) return
    } catch {
      // not listening yet
    }
    await new Promise((wake) => setTimeout(wake, 100))
  }
  throw new Error(`wrangler dev did not answer ${url}/health within ${READY_TIMEOUT_MS} ms`)
}

/** Starts the database, wrangler dev and the cron simulation; resolves once the API answers. */
export async function startDev(options: DevOptions): Promise<DevSession> {
  const userVars = readVars(DEV_VARS)
  const userDatabase =
    options.database === 'local' ? undefined : process.env.TURSO_DATABASE_URL?.trim() || userVars.TURSO_DATABASE_URL?.trim()
  let database: { url: string; token: string; close(): Promise<void> } | undefined
  if (!userDatabase) {
    // Loaded only when needed: a user with their own database does not load the native engine.
    const { createLibSQLStore } = await import('../src/store/libsql/create-libsql-store')
    const { startLibsqlServer } = await import('./libsql-server/server')
    mkdirSync(dirname(options.dbPath), { recursive: true })
    const migrated = await createLibSQLStore({ url: pathToFileURL(options.dbPath).href })
    await migrated.close()
    // A caller that brings its own API token (the tests) leaves .dev.vars alone: a random token for this session.
    const token = options.apiToken ? randomBytes(24).toString('base64url') : provisionDatabaseToken()
    database = await startLibsqlServer({ dbPath: options.dbPath, port: 0, token })
  }
  const databaseUrl = userDatabase ?? database!.url
  const { token, created } = provisionToken(options.apiToken)

  const args = [WRANGLER, 'dev', '--ip', '127.0.0.1', '--port', String(options.port)]
  if (options.wranglerLogLevel) args.push('--log-level', options.wranglerLogLevel)
  if (options.persistTo) args.push('--persist-to', options.persistTo)
  if (options.config) args.push('-c', options.config)
  // Passed as --var so the local endpoint's port (free, so different each time) never lands in .dev.vars.
  const vars: Partial<Record<WorkerKeyName, string>> = {}
  if (database) Object.assign(vars, { TURSO_DATABASE_URL: database.url, STORE: 'libsql' })
  if (database && options.apiToken) vars.TURSO_AUTH_TOKEN = database.token
  const apiToken = options.apiToken ?? process.env.API_TOKEN
  if (apiToken) vars.API_TOKEN = apiToken
  const logLevel = options.logLevel ?? process.env.LOG_LEVEL
  if (logLevel) vars.LOG_LEVEL = logLevel
  for (const [name, value] of Object.entries({ ...vars, ...options.vars })) args.push('--var', `${name}:${value}`)
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: wranglerEnv(),
    // Own process group, so stop() ends wrangler and the workerd it spawned, and nothing else.
    detached: true,
    stdio: options.inheritOutput === false ? ['ignore', 'pipe', 'pipe'] : ['ignore', 'inherit', 'inherit'],
  })
  let output = ''
  child.stdout?.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-8_000)))
  child.stderr?.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-8_000)))
  const exited = new Promise<number | null>((resolveExit) => child.once('exit', (code) => resolveExit(code)))

  let sweeper: ReturnType<typeof setInterval> | undefined
  let stopping: Promise<void> | undefined
  const url = `http://127.0.0.1:${options.port}`
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      if (sweeper) clearInterval(sweeper)
      if (child.exitCode === null && child.pid !== undefined) {
        try {
          process.kill(-child.pid, 'SIGTERM')
        } catch {
          // already gone
        }
        const timer = setTimeout(() => {
          try {
            process.kill(-child.pid!, 'SIGKILL')
          } catch {
            // already gone
          }
        }, 5_000)
        await exited
        clearTimeout(timer)
      }
      await database?.close()
    })()
    return stopping
  }

  try {
    await waitForHealth(url, child, Date.now() + READY_TIMEOUT_MS)
  } catch (err) {
    await stop()
    throw new Error(`${(err as Error).message}\n${output}`)
  }
  if (options.sweepIntervalMs > 0) {
    sweeper = setInterval(() => {
      fetch(`${url}/cdn-cgi/handler/scheduled?cron=${encodeURIComponent('* * * * *')}`).catch(() => {})
    }, options.sweepIntervalMs)
    sweeper.unref()
  }
  if (created) console.log(`Provisioned a dev API token into ${DEV_VARS}`)
  return { url, token, databaseUrl, exited, stop }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: process.env.PORT ?? '8787' },
      db: { type: 'string', default: '.data/dev.db' },
      'persist-to': { type: 'string' },
      'sweep-interval-ms': { type: 'string', default: '60000' },
    },
  })
  const session = await startDev({
    port: Number(values.port),
    dbPath: resolve(ROOT, values.db),
    sweepIntervalMs: Number(values['sweep-interval-ms']),
    ...(values['persist-to'] ? { persistTo: resolve(values['persist-to']) } : {}),
  })
  console.log(`
Gorkflow is running on ${session.url}  (database: ${session.databaseUrl})
API token: ${session.token}
Dashboard: ${session.url}/ui  (sign in with the token)

Try it:
  curl -s -X POST '${session.url}/v1/workflows/sequential/runs?wait=true' \\
    -H 'Authorization: Bearer ${session.token}' -H 'Content-Type: application/json' \\
    -d '{"input":{"val1":2,"val2":3,"mult":4}}'

Ctrl-C stops wrangler and the database.
`)
  const shutdown = (): void => {
    void session.stop().then(() => process.exit(0))
  }
  process.once('SIGINT', shutdown)
  process.once('SIGTERM', shutdown)
  const code = await session.exited
  await session.stop()
  process.exit(code ?? 1)
}

const invoked = process.argv[1]
if (invoked !== undefined && import.meta.url === pathToFileURL(resolve(invoked)).href) {
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : String(err))
    process.exit(1)
  })
}
