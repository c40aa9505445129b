/**
 * @module
 * Opens a {@link LibSQLStore} on a remote database (Turso, sqld, or `npm run db:serve`) over HTTP. Safe to
 * bundle for Cloudflare Workers: it uses `@libsql/client/web` (fetch only) and no Node module. A remote
 * database is never migrated from here; one that is behind the bundled migrations is refused with
 * SCHEMA_OUT_OF_DATE, naming `npm run db:migrate`.
 */
import { createClient } from '@libsql/client/web'
import type { Client } from '@libsql/client/web'
import { sql } from 'drizzle-orm'
import { drizzle } from 'drizzle-orm/libsql/web'
import journal from '../../../migrations/meta/_journal.json' with { type: 'json' }
import { GorkflowError, StoreUnavailableError } from '../../core/errors'
import { ceilingForRecords } from '../../core/limits'
import { LibSQLStore, describeDriverError } from './libsql-store'

export interface RemoteLibSQLStoreOptions {
  /** `libsql://…` (Turso), `https://…` or `http://…`. In every case the client speaks HTTP, never WebSocket. */
  readonly url: string
  /** Turso database token (`TURSO_AUTH_TOKEN`), or the `--token` of the local endpoint. */
  readonly authToken?: string
  /** Custom fetch (tests, Workers service bindings). @default globalThis.fetch */
  readonly fetch?: typeof globalThis.fetch
}

/**
 * `concurrency` for the HTTP client: larger than any number of store calls an isolate has in flight. The client
 * treats 0 as "use the default of 20", so there is no literal for "no limit".
 */
const UNLIMITED_CONCURRENCY = 1_000_000

/** The table drizzle-kit and drizzle's migrator record applied migrations in. */
export const MIGRATIONS_TABLE = '__drizzle_migrations'

/** The newest migration this build of the code expects, from `migrations/meta/_journal.json`. */
export const LATEST_MIGRATION: { readonly tag: string; readonly when: number } = latestMigration()

/**
 * Connects to a remote libSQL database over HTTP and checks its schema (one request).
 * @throws GorkflowError SCHEMA_OUT_OF_DATE when the database lacks migrations this code needs
 * @throws StoreUnavailableError when the database cannot be reached or refuses the token
 */
export async function createRemoteLibSQLStore(options: RemoteLibSQLStoreOptions): Promise<LibSQLStore> {
  let client: Client
  try {
    client = createClient({
      url: options.url,
      // No client-side queue. The default (20 requests in flight, the rest waiting) makes one request's store
      // call wait on a promise that another request's fetch resolves; workerd cancels such a request as hung.
      // Measured under `wrangler dev`: 30 of 50 concurrent W1 runs failed with the default, none without it.
      concurrency: UNLIMITED_CONCURRENCY,
      ...(options.authToken === undefined ? {} : { authToken: options.authToken }),
      fetch: withTimeout(options.fetch ?? ((input, init) => globalThis.fetch(input, init))),
    })
  } catch (err) {
    throw new StoreUnavailableError(`libsql store: invalid database URL ${redactUrl(options.url)}: ${messageOf(err)}`, {
      cause: err,
    })
  }
  try {
    await assertSchemaCurrent(client, options.url)
  } catch (err) {
    client.close()
    throw err
  }
  return new LibSQLStore(retryingBusy(client), undefined, undefined, REMOTE_PAYLOAD_CEILING)
}

/**
 * sqld, the server behind Turso, refuses a value or a row over 5,000,000 bytes ("string or blob too big"; measured
 * on sqld 0.24 with its defaults, README "Limits"). Turso does not document its own figure; this is the bound we
 * could verify, so every remote database is held to it.
 */
const REMOTE_PAYLOAD_CEILING = ceilingForRecords(5_000_000, 'sqld refuses rows over 5,000,000 bytes')

/**
 * How long one HTTP request to the database may take before it fails as STORE_UNAVAILABLE. Without a limit a
 * server that stops answering hangs every caller: sqld 0.24 under load (the three-engine race against sqld, two
 * CPU burners beside it, with the batches sent as BEGIN IMMEDIATE in a variant since dropped) once left every
 * request of a sweep unanswered for over 90 s.
 * A commit that timed out is retried like any store fault; one whose reply was lost is recognised by the engine.
 */
const REQUEST_TIMEOUT_MS = 15_000

function withTimeout(fetch: typeof globalThis.fetch): typeof globalThis.fetch {
  return (input, init) => {
    const timeout = AbortSignal.timeout(REQUEST_TIMEOUT_MS)
    const signal = init?.signal ? AbortSignal.any([init.signal, timeout]) : timeout
    return fetch(input, { ...init, signal })
  }
}

/**
 * Waits before sending a batch refused with SQLITE_BUSY again. Under concurrent writers sqld (Turso's server)
 * refuses write batches in bursts rather than wait for the lock. Measured against sqld 0.24 in the three-engine
 * race (test/core/durability.cases.ts; 2 cores, two CPU burners): 8 to 28 of ~630 store calls per race refused,
 * in bursts of 300–750 ms. That outlasted the engine's commit retries (525 ms), the run's lease lapsed and a
 * sweeper ran the interrupted attempt again: a step invoked 301 times for 300 completions. These add up to 3 s.
 */
const BUSY_RETRY_DELAYS_MS = [25, 50, 100, 200, 400, 800, 1_500]

/**
 * The client with `batch` sent again after SQLITE_BUSY. Every batch the store sends starts with a writing
 * statement, so a refused one never took the write lock and wrote nothing: sending it again is safe.
 */
function retryingBusy(client: Client): Client {
  const batch = async (statements: Parameters<Client['batch']>[0], mode?: Parameters<Client['batch']>[1]) => {
    for (let attempt = 0; ; attempt++) {
      try {
        return await client.batch(statements, mode)
      } catch (err) {
        const delay = BUSY_RETRY_DELAYS_MS[attempt]
        if (delay === undefined || (err as { code?: unknown }).code !== 'SQLITE_BUSY') throw err
        await new Promise((resolve) => setTimeout(resolve, delay))
      }
    }
  }
  return new Proxy(client, {
    get(target, prop) {
      if (prop === 'batch') return batch
      const value: unknown = Reflect.get(target, prop)
      // Bound to the real client: it keeps its state in #private fields.
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value
    },
  })
}

/**
 * Refuses a database whose newest applied migration is older than {@link LATEST_MIGRATION}.
 * @throws GorkflowError SCHEMA_OUT_OF_DATE
 * @throws StoreUnavailableError
 */
export async function assertSchemaCurrent(client: Client, url = '(remote)'): Promise<void> {
  const db = drizzle(client)
  let newest: number | null
  try {
    const rows = await db.values<[unknown]>(sql`SELECT max(created_at) FROM ${sql.identifier(MIGRATIONS_TABLE)}`)
    const value = rows[0]?.[0]
    newest = value === null || value === undefined ? null : Number(value)
  } catch (err) {
    if (!/no such table/i.test(causeMessages(err))) {
      const reason = describeDriverError(err)
      throw new StoreUnavailableError(`libsql store: cannot read the schema version of ${redactUrl(url)}: ${reason}`, {
        cause: err,
      })
    }
    newest = null
  }
  if (newest === null || newest < LATEST_MIGRATION.when) {
    const found =
      newest === null ? 'no migrations applied' : `its newest migration is from ${new Date(newest).toISOString()}`
    throw new GorkflowError(
      'SCHEMA_OUT_OF_DATE',
      `the libsql database at ${redactUrl(url)} is not migrated to this version of gorkflow (${found}; ` +
        `expected ${LATEST_MIGRATION.tag}): run \`npm run db:migrate\` with TURSO_DATABASE_URL and ` +
        'TURSO_AUTH_TOKEN set to this database',
      { details: { expected: LATEST_MIGRATION.tag, newestApplied: newest } },
    )
  }
}

function latestMigration(): { tag: string; when: number } {
  const entries = (journal as { entries: { tag: string; when: number }[] }).entries
  const last = entries[entries.length - 1]
  if (last === undefined) throw new Error('migrations/meta/_journal.json lists no migrations')
  return { tag: last.tag, when: last.when }
}

/** The URL without credentials or query (which may carry `authToken=`), for messages. */
function redactUrl(url: string): string {
  return url.replace(/\/\/[^/@]*@/, '//').replace(/\?.*$/, '')
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}

/** Every message along the `cause` chain: Drizzle wraps the client's error, whose message names the table. */
function causeMessages(err: unknown): string {
  const messages: string[] = []
  let current: unknown = err
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    messages.push(current.message)
    current = current.cause
  }
  return messages.join('\n')
}
