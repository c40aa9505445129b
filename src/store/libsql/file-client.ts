/**
 * @module
 * A `@libsql/client` {@link Client} for `file:` databases, for the store's hot path. Three differences from the
 * client's own `file:` build, all measured (`npm run bench`, `npm run bench:soak`):
 *
 * - Engine. better-sqlite3 instead of the `libsql` binding, which leaks native memory in every multi-row read
 *   (see `statement-cache.ts`).
 * - Statement cache. The stock client prepares every statement on every call; preparing SQLite's plan for a
 *   commit's six statements cost ~8x their execution. Here each SQL text is prepared once per connection.
 * - Group commit. Write batches issued in the same turn of the event loop (many runs committing at once) share
 *   one SQLite transaction, each inside its own SAVEPOINT: a batch that fails rolls back alone and rejects alone,
 *   the others commit together, and no batch's promise settles before the transaction that holds it committed.
 *   A lone batch costs the same as before; 100 concurrent ones cost one commit instead of 100.
 *
 * Everything else follows the stock client: one connection, operations applied in call order, an interactive
 * transaction holds the connection until it ends (other calls wait), errors are `LibsqlError`s with SQLite's
 * codes, integers are JavaScript numbers (a value outside the safe range is an error, not a rounding).
 * Node only (native engine).
 */
import { Buffer } from 'node:buffer'
// The web build: the same error classes and types, without the node build's import of the `libsql` binding.
import { LibsqlBatchError, LibsqlError } from '@libsql/client/web'
import type {
  Client,
  InArgs,
  InStatement,
  InValue,
  Replicated,
  ResultSet,
  Row,
  Transaction,
  TransactionMode,
} from '@libsql/client/web'
import { startCheckpointer, type Checkpointer } from './checkpointer'
import { SqliteError, StatementCache, openConnection, type Connection } from './statement-cache'

export interface FileClientOptions {
  /** Path of the database file, or `:memory:` for a private in-memory database. */
  readonly path: string
  /** How long a write waits for another connection's lock before failing with SQLITE_BUSY, in ms. */
  readonly busyTimeoutMs: number
  /**
   * Share one SQLite transaction between the write batches issued in the same event-loop turn (see the module
   * comment). Off, every batch is its own transaction, as in the stock client. @default true
   */
  readonly groupCommit?: boolean
  /** Prepared statements kept per connection; the least recently prepared goes first. @default 512 */
  readonly statementCacheSize?: number
}

interface QueuedBatch {
  readonly statements: readonly NormalizedStatement[]
  readonly resolve: (results: ResultSet[]) => void
  readonly reject: (error: unknown) => void
}

interface NormalizedStatement {
  readonly sql: string
  readonly args: InArgs
}

/** SQLite's default `wal_autocheckpoint`. */
const SQLITE_AUTOCHECKPOINT_PAGES = 1000
/** The writer's own threshold while a thread checkpoints (see checkpointInBackground). */
const FALLBACK_AUTOCHECKPOINT_PAGES = 10 * SQLITE_AUTOCHECKPOINT_PAGES

/** Opens a {@link FileClient}. @throws LibsqlError when the database cannot be opened */
export function createFileClient(options: FileClientOptions): FileClient {
  return new FileClient(options)
}

export class FileClient implements Client {
  readonly protocol = 'file'
  closed = false

  readonly #options: FileClientOptions
  #db: Connection
  #cache: StatementCache
  #checkpointer: Checkpointer | null = null
  /** Settles when the checkpointer thread of the last close has ended. */
  #threadEnded: Promise<void> = Promise.resolve()
  #queue: QueuedBatch[] = []
  #flushScheduled = false
  /**
   * Settles when the open interactive transaction ends; null when none is open. Callers wait in a loop and act
   * in the same synchronous run as their last check, or a second transaction could begin in between.
   */
  #transactionDone: Promise<void> | null = null

  constructor(options: FileClientOptions) {
    this.#options = options
    this.#db = open(options)
    this.#cache = new StatementCache(this.#db, options.statementCacheSize)
  }

  async execute(stmtOrSql: InStatement | string, args?: InArgs): Promise<ResultSet> {
    const statement = normalize(typeof stmtOrSql === 'string' ? { sql: stmtOrSql, args: args ?? [] } : stmtOrSql)
    while (this.#transactionDone) await this.#transactionDone
    this.#checkOpen()
    this.#flush()
    return this.#run(statement)
  }

  async batch(stmts: Array<InStatement | [string, InArgs?]>, mode: TransactionMode = 'deferred'): Promise<ResultSet[]> {
    const statements = stmts.map(normalize)
    while (this.#transactionDone) await this.#transactionDone
    this.#checkOpen()
    if (mode === 'read' || !(this.#options.groupCommit ?? true)) {
      this.#flush()
      return this.#inTransaction(mode, () => this.#runAll(statements))
    }
    return new Promise<ResultSet[]>((resolve, reject) => {
      this.#queue.push({ statements, resolve, reject })
      if (!this.#flushScheduled) {
        this.#flushScheduled = true
        // Batches queued by the other promise chains of this turn join this one's transaction.
        queueMicrotask(() => this.#flush())
      }
    })
  }

  async migrate(stmts: InStatement[]): Promise<ResultSet[]> {
    const statements = stmts.map(normalize)
    while (this.#transactionDone) await this.#transactionDone
    this.#checkOpen()
    this.#flush()
    this.#run({ sql: 'PRAGMA foreign_keys = OFF', args: [] })
    try {
      return this.#inTransaction('deferred', () => this.#runAll(statements))
    } finally {
      this.#run({ sql: 'PRAGMA foreign_keys = ON', args: [] })
      this.#cache.clear()
    }
  }

  async transaction(mode: TransactionMode = 'write'): Promise<Transaction> {
    while (this.#transactionDone) await this.#transactionDone
    this.#checkOpen()
    this.#flush()
    this.#run({ sql: beginStatement(mode), args: [] })
    let done!: () => void
    this.#transactionDone = new Promise<void>((resolve) => {
      done = resolve
    })
    return new FileTransaction(this, () => {
      this.#transactionDone = null
      done()
    })
  }

  async executeMultiple(sql: string): Promise<void> {
    while (this.#transactionDone) await this.#transactionDone
    this.#checkOpen()
    this.#flush()
    this.#exec(sql)
  }

  async sync(): Promise<Replicated> {
    throw new LibsqlError('sync() needs an embedded replica; this is a local file', 'SYNC_NOT_SUPPORTED')
  }

  close(): void {
    if (this.closed) return
    this.#flush()
    this.closed = true
    if (this.#checkpointer) this.#threadEnded = this.#checkpointer.stop()
    this.#checkpointer = null
    this.#cache.clear()
    if (this.#db.open) this.#db.close()
  }

  /** Settles once everything {@link close} stopped has ended (the checkpointer thread). */
  whenClosed(): Promise<void> {
    return this.#threadEnded
  }

  /** Opens a new connection, with SQLite's own checkpoints (call {@link checkpointInBackground} again if wanted). */
  reconnect(): void {
    this.close()
    this.#db = open(this.#options)
    this.#cache = new StatementCache(this.#db, this.#options.statementCacheSize)
    this.closed = false
  }

  /**
   * Moves WAL checkpoints off this connection's commits onto a worker thread (see `checkpointer.ts`). For a
   * database already in WAL mode. Should the thread fail, this connection checkpoints itself again, as SQLite
   * does by default.
   */
  async checkpointInBackground(intervalMs: number): Promise<void> {
    if (this.#checkpointer !== null || this.closed) return
    // The thread's checkpoints cannot catch up with a writer that never pauses; this connection's own, at a
    // threshold 10× SQLite's, then bounds the log (its checkpoint runs between commits, so it completes).
    await this.execute(`PRAGMA wal_autocheckpoint = ${FALLBACK_AUTOCHECKPOINT_PAGES}`)
    this.#checkpointer = startCheckpointer({
      intervalMs,
      path: this.#options.path,
      busyTimeoutMs: this.#options.busyTimeoutMs,
      onFailure: () => {
        this.#checkpointer = null
        if (!this.closed) this.execute(`PRAGMA wal_autocheckpoint = ${SQLITE_AUTOCHECKPOINT_PAGES}`).catch(() => {})
      },
    })
  }

  /** @internal For {@link FileTransaction}: runs one statement on the connection the transaction holds. */
  runInTransaction(statement: NormalizedStatement): ResultSet {
    return this.#run(statement)
  }

  /** @internal For {@link FileTransaction}. */
  runAllInTransaction(statements: readonly NormalizedStatement[]): ResultSet[] {
    return this.#runAll(statements)
  }

  /** @internal For {@link FileTransaction}. */
  execInTransaction(sql: string): void {
    this.#exec(sql)
  }

  /** @internal Whether SQLite has a transaction open on the connection. */
  get inTransaction(): boolean {
    return this.#db.open && this.#db.inTransaction
  }

  #checkOpen(): void {
    if (this.closed) throw new LibsqlError('The client is closed', 'CLIENT_CLOSED')
  }

  /** Applies every queued batch in one transaction, each in its own savepoint. */
  #flush(): void {
    this.#flushScheduled = false
    const queue = this.#queue
    if (queue.length === 0) return
    this.#queue = []
    if (this.closed) {
      for (const batch of queue) batch.reject(new LibsqlError('The client is closed', 'CLIENT_CLOSED'))
      return
    }
    if (queue.length === 1) {
      const [only] = queue as [QueuedBatch]
      try {
        only.resolve(this.#inTransaction('deferred', () => this.#runAll(only.statements)))
      } catch (err) {
        only.reject(err)
      }
      return
    }
    const results = new Map<QueuedBatch, ResultSet[]>()
    const failures = new Map<QueuedBatch, unknown>()
    try {
      // IMMEDIATE: one wait for the write lock up front, never a failed upgrade from read to write midway.
      this.#inTransaction('write', () => {
        for (const batch of queue) {
          this.#run(SAVEPOINT)
          try {
            results.set(batch, this.#runAll(batch.statements))
            this.#run(RELEASE)
          } catch (err) {
            failures.set(batch, err)
            this.#run(ROLLBACK_TO)
            this.#run(RELEASE)
          }
        }
      })
    } catch (err) {
      // The transaction itself failed (BEGIN or COMMIT): nothing of it was applied.
      for (const batch of queue) batch.reject(failures.get(batch) ?? err)
      return
    }
    for (const batch of queue) {
      const result = results.get(batch)
      if (result) batch.resolve(result)
      else batch.reject(failures.get(batch))
    }
  }

  #inTransaction<T>(mode: TransactionMode, body: () => T): T {
    this.#run({ sql: beginStatement(mode), args: [] })
    try {
      const value = body()
      this.#run(COMMIT)
      return value
    } catch (err) {
      if (this.inTransaction) this.#run(ROLLBACK)
      throw err
    }
  }

  #runAll(statements: readonly NormalizedStatement[]): ResultSet[] {
    const results: ResultSet[] = []
    for (let i = 0; i < statements.length; i++) {
      try {
        if (i > 0 && !this.#db.inTransaction) {
          throw new LibsqlError('The transaction has been rolled back', 'TRANSACTION_CLOSED')
        }
        results.push(this.#run(statements[i] as NormalizedStatement))
      } catch (err) {
        if (err instanceof LibsqlError && !(err instanceof LibsqlBatchError)) {
          throw new LibsqlBatchError(err.message, i, err.code, err.extendedCode, err.rawCode, err)
        }
        throw err
      }
    }
    return results
  }

  #run(statement: NormalizedStatement): ResultSet {
    try {
      const prepared = this.#cache.prepare(statement.sql)
      const args = toSqlArgs(statement.args)
      if (prepared.columns === null) {
        const info = prepared.statement.run(args)
        return resultSet([], [], [], info.changes, BigInt(info.lastInsertRowid))
      }
      const { names, types } = prepared.columns
      const rows = (prepared.statement.all(args) as unknown[][]).map((values) => toRow(values, names))
      return resultSet(names, types.map((type) => type ?? ''), rows, 0, undefined)
    } catch (err) {
      throw toLibsqlError(err)
    }
  }

  #exec(sql: string): void {
    try {
      this.#db.exec(sql)
    } catch (err) {
      throw toLibsqlError(err)
    } finally {
      // The SQL may have changed the schema a cached statement's columns were read from.
      this.#cache.clear()
    }
  }
}

/** An interactive transaction: holds the client's connection until commit, rollback or close. */
class FileTransaction implements Transaction {
  readonly #client: FileClient
  #end: (() => void) | null

  constructor(client: FileClient, end: () => void) {
    this.#client = client
    this.#end = end
  }

  get closed(): boolean {
    return this.#end === null || !this.#client.inTransaction
  }

  async execute(stmt: InStatement): Promise<ResultSet> {
    this.#check()
    return this.#client.runInTransaction(normalize(stmt))
  }

  async batch(stmts: InStatement[]): Promise<ResultSet[]> {
    this.#check()
    return this.#client.runAllInTransaction(stmts.map(normalize))
  }

  async executeMultiple(sql: string): Promise<void> {
    this.#check()
    this.#client.execInTransaction(sql)
  }

  async commit(): Promise<void> {
    this.#check()
    try {
      this.#client.runInTransaction(COMMIT)
    } finally {
      this.close()
    }
  }

  async rollback(): Promise<void> {
    this.close()
  }

  close(): void {
    const end = this.#end
    if (end === null) return
    this.#end = null
    try {
      if (this.#client.inTransaction) this.#client.runInTransaction(ROLLBACK)
    } finally {
      end()
    }
  }

  #check(): void {
    if (this.closed) throw new LibsqlError('The transaction is closed', 'TRANSACTION_CLOSED')
  }
}

const COMMIT: NormalizedStatement = { sql: 'COMMIT', args: [] }
const ROLLBACK: NormalizedStatement = { sql: 'ROLLBACK', args: [] }
const SAVEPOINT: NormalizedStatement = { sql: 'SAVEPOINT gorkflow_batch', args: [] }
const RELEASE: NormalizedStatement = { sql: 'RELEASE gorkflow_batch', args: [] }
const ROLLBACK_TO: NormalizedStatement = { sql: 'ROLLBACK TO gorkflow_batch', args: [] }

function open(options: FileClientOptions): Connection {
  try {
    return openConnection(options.path, options.busyTimeoutMs)
  } catch (err) {
    throw toLibsqlError(err)
  }
}

function beginStatement(mode: TransactionMode): string {
  if (mode === 'write') return 'BEGIN IMMEDIATE'
  // SQLite has no read-only BEGIN (libsql's `BEGIN TRANSACTION READONLY` is libsql's own); a deferred
  // transaction that only reads never takes the write lock.
  return 'BEGIN DEFERRED'
}

function normalize(stmt: InStatement | [string, InArgs?]): NormalizedStatement {
  if (typeof stmt === 'string') return { sql: stmt, args: [] }
  if (Array.isArray(stmt)) return { sql: stmt[0], args: stmt[1] ?? [] }
  return { sql: stmt.sql, args: stmt.args ?? [] }
}

function resultSet(
  columns: string[],
  columnTypes: string[],
  rows: Row[],
  rowsAffected: number,
  lastInsertRowid: bigint | undefined,
): ResultSet {
  return {
    columns,
    columnTypes,
    rows,
    rowsAffected,
    lastInsertRowid,
    toJSON() {
      return {
        columns,
        columnTypes,
        rows: rows.map((row) => Array.prototype.map.call(row, (v: unknown) => (typeof v === 'bigint' ? `${v}` : v))),
        rowsAffected,
        lastInsertRowid: lastInsertRowid === undefined ? null : `${lastInsertRowid}`,
      }
    },
  }
}

/** A row as the stock client shapes it: values by index and, enumerable, by column name. */
function toRow(values: readonly unknown[], names: readonly string[]): Row {
  const row: Record<string | number, unknown> = {}
  Object.defineProperty(row, 'length', { value: values.length })
  for (let i = 0; i < values.length; i++) {
    const value = fromSql(values[i])
    Object.defineProperty(row, i, { value })
    const name = names[i] as string
    if (!Object.hasOwn(row, name)) row[name] = value
  }
  return row as unknown as Row
}

function fromSql(value: unknown): unknown {
  if (typeof value === 'bigint') {
    if (value < MIN_SAFE || value > MAX_SAFE) {
      throw new RangeError('Received integer which cannot be safely represented as a JavaScript number')
    }
    return Number(value)
  }
  if (value instanceof Buffer) return value.buffer.slice(value.byteOffset, value.byteOffset + value.byteLength)
  return value
}

function toSqlArgs(args: InArgs): unknown[] | Record<string, unknown> {
  if (Array.isArray(args)) return args.map(toSql)
  const named: Record<string, unknown> = {}
  for (const [name, value] of Object.entries(args)) {
    named[name[0] === '@' || name[0] === '$' || name[0] === ':' ? name.slice(1) : name] = toSql(value)
  }
  return named
}

function toSql(value: InValue | undefined): unknown {
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new RangeError('Only finite numbers (not Infinity or NaN) can be passed as arguments')
    return value
  }
  if (typeof value === 'bigint') {
    if (value < MIN_INT64 || value > MAX_INT64) {
      throw new RangeError('bigint is too large to be represented as a 64-bit integer and passed as argument')
    }
    return value
  }
  if (typeof value === 'boolean') return value ? 1 : 0
  if (value instanceof ArrayBuffer) return Buffer.from(value)
  if (value instanceof Date) return value.valueOf()
  if (value === undefined) throw new TypeError('undefined cannot be passed as argument to the database')
  return value
}

const MIN_SAFE = BigInt(Number.MIN_SAFE_INTEGER)
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER)
const MIN_INT64 = -(2n ** 63n)
const MAX_INT64 = 2n ** 63n - 1n

/**
 * The engine's errors as the stock client reports them: a LibsqlError with SQLite's base code, the extended one
 * and the numeric base code (better-sqlite3 names the extended code only, `SQLITE_<BASE>[_<DETAIL>]`).
 */
function toLibsqlError(err: unknown): unknown {
  if (!(err instanceof SqliteError)) return err
  const extended = err.code
  const base = SQLITE_BASE_CODES.find(([name]) => extended === name || extended.startsWith(`${name}_`))
  return base === undefined
    ? new LibsqlError(err.message, 'SQLITE_UNKNOWN', extended, undefined, err)
    : new LibsqlError(err.message, base[0], extended, base[1], err)
}

/** SQLite's primary result codes, longest name first so that a prefix never shadows a longer name. */
const SQLITE_BASE_CODES: readonly (readonly [string, number])[] = [
  ['SQLITE_CONSTRAINT', 19],
  ['SQLITE_INTERRUPT', 9],
  ['SQLITE_INTERNAL', 2],
  ['SQLITE_READONLY', 8],
  ['SQLITE_NOTFOUND', 12],
  ['SQLITE_CANTOPEN', 14],
  ['SQLITE_PROTOCOL', 15],
  ['SQLITE_MISMATCH', 20],
  ['SQLITE_CORRUPT', 11],
  ['SQLITE_WARNING', 28],
  ['SQLITE_LOCKED', 6],
  ['SQLITE_SCHEMA', 17],
  ['SQLITE_TOOBIG', 18],
  ['SQLITE_MISUSE', 21],
  ['SQLITE_FORMAT', 24],
  ['SQLITE_NOTADB', 26],
  ['SQLITE_NOTICE', 27],
  ['SQLITE_ERROR', 1],
  ['SQLITE_ABORT', 4],
  ['SQLITE_NOMEM', 7],
  ['SQLITE_IOERR', 10],
  ['SQLITE_EMPTY', 16],
  ['SQLITE_NOLFS', 22],
  ['SQLITE_RANGE', 25],
  ['SQLITE_PERM', 3],
  ['SQLITE_BUSY', 5],
  ['SQLITE_FULL', 13],
  ['SQLITE_AUTH', 23],
]
