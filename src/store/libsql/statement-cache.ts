/**
 * @module
 * The embedded SQLite engine (better-sqlite3) and a per-connection cache of its prepared statements, shared by
 * the store's `file:` client (`file-client.ts`) and the local libSQL endpoint (`scripts/libsql-server/`).
 *
 * Why better-sqlite3 and not the `libsql` binding that `@libsql/client` brings: `libsql` 0.5.29 leaks native
 * memory in every multi-row read (`Statement.all()`/`iterate()`, ~0.9 KB per call; `get()` does not), so a
 * long-running server grew by ~12 KB per run. `bench/probes/read-leak.ts` shows it: 300,000 single-row `all()`
 * calls grow RSS by hundreds of MiB on `libsql`, by nothing measurable on better-sqlite3. W1/W3 on the file
 * store: see docs/performance.md.
 *
 * Why a cache: preparing SQLite's plan for a store commit's statements cost ~8x their execution; here each SQL
 * text is prepared once per connection.
 */
import Database from 'better-sqlite3'

export { Database }
export type Connection = Database.Database
/** Takes its parameters as one array (positional) or one object (named, without the prefix). */
export type Statement = Database.Statement<unknown[], unknown>
/** SQLite's error, with `code` the extended result code's name (`SQLITE_CONSTRAINT_UNIQUE`). */
export const SqliteError = Database.SqliteError

/** A prepared statement: safe integers (bigint) on, and for a statement that returns rows, raw (array) rows. */
export interface Prepared {
  readonly statement: Statement
  /** Result columns (names and declared types, null when not a table column) of a reader, else null. */
  readonly columns: { readonly names: string[]; readonly types: (string | null)[] } | null
}

/** How many statements a cache keeps by default; the least recently prepared goes first. */
export const DEFAULT_STATEMENT_CACHE_SIZE = 512

/** Opens a connection: `path` is a file or `:memory:`; a write waits up to `busyTimeoutMs` for another's lock. */
export function openConnection(path: string, busyTimeoutMs: number): Connection {
  return new Database(path, { timeout: busyTimeoutMs })
}

/** Prepared statements of one connection, by SQL text. */
export class StatementCache {
  readonly #db: Connection
  readonly #limit: number
  readonly #cache = new Map<string, Prepared>()

  constructor(db: Connection, limit = DEFAULT_STATEMENT_CACHE_SIZE) {
    this.#db = db
    this.#limit = limit
  }

  /** The connection's statement for `sql`, prepared on first use. @throws SqliteError for invalid SQL */
  prepare(sql: string): Prepared {
    const cached = this.#cache.get(sql)
    if (cached) return cached
    const statement = this.#db.prepare(sql) as Statement
    statement.safeIntegers(true)
    let columns: Prepared['columns'] = null
    if (statement.reader) {
      statement.raw(true)
      const defs = statement.columns()
      columns = { names: defs.map((c) => c.name), types: defs.map((c) => c.type) }
    }
    const prepared = { statement, columns }
    if (this.#limit <= 0) return prepared
    if (this.#cache.size >= this.#limit) {
      const oldest = this.#cache.keys().next()
      if (!oldest.done) this.#cache.delete(oldest.value)
    }
    this.#cache.set(sql, prepared)
    return prepared
  }

  /** Forgets every statement: after a schema change, whose columns a cached reader may have described. */
  clear(): void {
    this.#cache.clear()
  }
}
