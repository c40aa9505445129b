/**
 * @module
 * Opens a {@link LibSQLStore} from a URL in Node. `file:` URLs use the embedded engine (WAL journal, busy
 * timeout on every pooled connection) and apply pending migrations on open; remote URLs go through
 * {@link createRemoteLibSQLStore} (HTTP, schema check, no migration). Node only: Workers import
 * `remote-libsql-store.ts` instead, because this module loads the native engine and reads migration files.
 */
import { mkdirSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import type { Client } from '@libsql/client/web'
import { drizzle } from 'drizzle-orm/libsql/web'
import { migrate } from 'drizzle-orm/libsql/migrator'
import { GorkflowError, StoreUnavailableError } from '../../core/errors'
import { ceilingForRecords } from '../../core/limits'
import { FileClient } from './file-client'
import { watchFileIdentity, type FileFault, type FileIdentityWatch } from './file-identity'
import { LibSQLStore, describeDriverError } from './libsql-store'
import { findMigrationsFolder } from './migrations-folder'
import { createRemoteLibSQLStore } from './remote-libsql-store'

export interface LibSQLStoreOptions {
  /**
   * `file:path/to.db` (embedded; relative to the working directory), `file::memory:` (one private in-memory
   * database), or `libsql://…` / `https://…` / `http://…` (remote over HTTP).
   */
  readonly url: string
  /** Token of a remote database. Ignored for `file:` URLs. */
  readonly authToken?: string
  /**
   * How long a write waits for another connection's write lock on a `file:` database before failing with
   * SQLITE_BUSY, in ms. Applies to every pooled connection. @default 5_000
   */
  readonly busyTimeoutMs?: number
  /**
   * SQLite's `synchronous` setting for a `file:` database. NORMAL (with WAL) survives a crash of the process
   * and fsyncs only at checkpoints; a power loss may roll back the last commits, so a step could run once
   * more (handlers are at-least-once anyway). FULL fsyncs every commit: 0.5–5 ms more per write on the
   * machines we measured. @default 'NORMAL'
   */
  readonly synchronous?: 'NORMAL' | 'FULL'
  /**
   * Let write batches issued in the same event-loop turn share one SQLite transaction (each in its own savepoint,
   * failing alone) on a `file:` database: many runs committing at once pay for one commit. See `file-client.ts`.
   * @default true
   */
  readonly groupCommit?: boolean
  /**
   * WAL checkpoints of a `file:` database run on a worker thread this often, in ms, instead of inside the commit
   * that crosses SQLite's threshold (see `checkpointer.ts`); `null` leaves them to SQLite. @default 100
   */
  readonly checkpointIntervalMs?: number | null
  /** Folder holding drizzle-kit's migrations (with `meta/_journal.json`). @default the package's `migrations/` */
  readonly migrationsFolder?: string
  /** Apply pending migrations to a `file:` database on open. @default true */
  readonly migrate?: boolean
  /**
   * Told once per fault the watch of a `file:` database's files finds (the file deleted or replaced, its -wal or
   * -shm gone, truncated or read-only; see `file-identity.ts`): log it. The store's `healthProblem()` reports it too.
   */
  readonly onFileFault?: (fault: FileFault) => void
}

/** The `migrations/` folder of this package (beside `src/` in the repository, beside `dist/` when installed). */
export const DEFAULT_MIGRATIONS_FOLDER = findMigrationsFolder(import.meta.url)

const DEFAULT_BUSY_TIMEOUT_MS = 5_000
const DEFAULT_CHECKPOINT_INTERVAL_MS = 100

/**
 * Opens the store named by `options.url`.
 * @example const store = await createLibSQLStore({ url: 'file:./.data/gorkflow.db' })
 * @throws GorkflowError SCHEMA_OUT_OF_DATE for a remote database that needs `npm run db:migrate`
 * @throws StoreUnavailableError when the database cannot be opened, reached or migrated
 */
export async function createLibSQLStore(options: LibSQLStoreOptions): Promise<LibSQLStore> {
  if (!/^file:/i.test(options.url)) {
    return createRemoteLibSQLStore({
      url: options.url,
      ...(options.authToken === undefined ? {} : { authToken: options.authToken }),
    })
  }
  const client = openFileClient(options.url, options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS, options.groupCommit ?? true)
  const path = filePath(options.url)
  let files: FileIdentityWatch | null = null
  try {
    // WAL is a property of the file (set once, kept): readers never block the writer, and autocommit
    // writes are ~40x faster than in the default DELETE journal (STACK.md). In-memory databases answer
    // "memory" and stay as they are.
    await client.execute('PRAGMA journal_mode = WAL')
    // Per-connection settings: the client below has exactly one connection, so they hold for every call.
    await client.execute(`PRAGMA synchronous = ${options.synchronous === 'FULL' ? 'FULL' : 'NORMAL'}`)
    await client.execute('PRAGMA foreign_keys = ON')
    if (options.migrate ?? true) await migrateFile(client, options.migrationsFolder ?? DEFAULT_MIGRATIONS_FOLDER)
    const { rows } = await client.execute('PRAGMA journal_mode')
    const checkpointMs = options.checkpointIntervalMs ?? DEFAULT_CHECKPOINT_INTERVAL_MS
    if (rows[0]?.[0] === 'wal' && checkpointMs !== null) await client.checkpointInBackground(checkpointMs)
    if (path !== null) {
      files = watchFileIdentity(resolve(path), options.onFileFault ? { onFault: options.onFileFault } : {})
      const fault = files.check()
      if (fault !== null) throw new StoreUnavailableError(`libsql store: cannot open ${options.url}: ${fault.reason}`)
    }
  } catch (err) {
    files?.stop()
    client.close()
    if (err instanceof GorkflowError) throw err
    throw new StoreUnavailableError(`libsql store: cannot open ${options.url}: ${describeDriverError(err)}`, {
      cause: err,
    })
  }
  const watch = files
  return new LibSQLStore(
    client,
    () => {
      watch?.stop()
      return client.whenClosed()
    },
    () => watch?.check()?.reason ?? null,
    FILE_PAYLOAD_CEILING,
  )
}

/**
 * SQLite bounds a row (and a string) by SQLITE_MAX_LENGTH, 1,000,000,000 bytes by default. In practice V8 refuses
 * sooner: no JS string is longer than 2^29 - 24 code units (README "Limits").
 */
const FILE_PAYLOAD_CEILING = ceilingForRecords(1_000_000_000, 'SQLite rows of at most 1,000,000,000 bytes, SQLITE_MAX_LENGTH')

/**
 * Applies pending migrations from `migrationsFolder` to the database behind `client` (idempotent).
 * Two processes opening a fresh file at once can race on the first migration; the loser's batch rolls back
 * and a retry finds the migration applied.
 */
export async function migrateFile(client: Client, migrationsFolder = DEFAULT_MIGRATIONS_FOLDER): Promise<void> {
  const db = drizzle(client)
  for (let attempt = 1; ; attempt++) {
    try {
      await migrate(db, { migrationsFolder })
      return
    } catch (err) {
      if (attempt >= 3) throw err
    }
  }
}

function openFileClient(url: string, busyTimeoutMs: number, groupCommit: boolean): FileClient {
  const path = filePath(url)
  try {
    if (path !== null) mkdirSync(dirname(resolve(path)), { recursive: true })
    // One connection: the embedded engine executes synchronously, so more would add no parallelism to the store
    // (it never holds a transaction open across awaits), and per-connection PRAGMAs (synchronous, foreign_keys)
    // hold for every call (docs/decisions.md#libsql-connection-settings).
    return new FileClient({ path: path ?? ':memory:', busyTimeoutMs, groupCommit })
  } catch (err) {
    throw new StoreUnavailableError(`libsql store: cannot open ${url}: ${messageOf(err)}`, { cause: err })
  }
}

/** The filesystem path of a `file:` URL, or null for in-memory databases. */
function filePath(url: string): string | null {
  const rest = url.replace(/^file:/i, '').replace(/\?.*$/, '')
  if (rest === '' || rest.startsWith(':memory:')) return null
  // file:///abs and file://localhost/abs are absolute; file:/abs and file:rel are used as given; %XX decoded
  // (pathToFileURL encodes spaces and the like).
  return decodeURIComponent(rest.replace(/^\/\/(localhost)?(?=\/)/i, ''))
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}
