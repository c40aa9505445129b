/**
 * @module
 * Connections and the write lock between streams. The engine is synchronous, so each pipeline runs to
 * completion before the next starts; but a stream left inside a transaction between requests holds the write lock
 * of its connection. Other streams' requests then wait (asynchronously) until it commits, rolls back or expires,
 * instead of failing with SQLITE_BUSY.
 */
import { StatementCache, openConnection, type Connection } from '../../src/store/libsql/statement-cache'

/** A connection with its prepared statements. */
export interface PooledConnection {
  readonly db: Connection
  readonly statements: StatementCache
}

/** Idle connections kept for the next stream; more are closed when released. */
const MAX_IDLE = 8

/** Connections to one file, reused across streams. */
export class ConnectionPool {
  readonly #path: string
  readonly #busyTimeoutMs: number
  readonly #idle: PooledConnection[] = []
  #closing = false

  constructor(path: string, busyTimeoutMs: number) {
    this.#path = path
    this.#busyTimeoutMs = busyTimeoutMs
  }

  acquire(): PooledConnection {
    const reused = this.#idle.pop()
    if (reused !== undefined) return reused
    const db = openConnection(this.#path, this.#busyTimeoutMs)
    // A development endpoint: commits survive a crash of this process, fsyncs happen at checkpoints only.
    db.exec('PRAGMA synchronous = NORMAL')
    return { db, statements: new StatementCache(db) }
  }

  /** Rolls back what the stream left open and keeps the connection for reuse (or closes it). */
  release(connection: PooledConnection): void {
    const { db } = connection
    try {
      if (db.inTransaction) db.exec('ROLLBACK')
      // Undo what a previous stream may have switched off (the client's migrate() toggles it).
      db.exec('PRAGMA foreign_keys = ON')
    } catch {
      db.close()
      return
    }
    if (this.#closing || this.#idle.length >= MAX_IDLE) db.close()
    else this.#idle.push(connection)
  }

  /** Closes the idle connections; connections released later are closed too. */
  close(): void {
    this.#closing = true
    for (const { db } of this.#idle.splice(0)) db.close()
  }
}

/** The one stream allowed to hold a transaction open between requests, and the requests waiting for it. */
export class WriteLock<Holder> {
  #holder: Holder | null = null
  #waiters: (() => void)[] = []

  /** Resolves once no other holder has the lock (the caller then runs synchronously, or takes it). */
  async waitFor(holder: Holder): Promise<void> {
    while (this.#holder !== null && this.#holder !== holder) {
      await new Promise<void>((wake) => this.#waiters.push(wake))
    }
  }

  take(holder: Holder): void {
    this.#holder = holder
  }

  release(holder: Holder): void {
    if (this.#holder !== holder) return
    this.#holder = null
    this.#wakeAll()
  }

  /** Wakes every waiter (at shutdown: their streams then find the server closing). */
  #wakeAll(): void {
    const waiters = this.#waiters
    this.#waiters = []
    for (const wake of waiters) wake()
  }

  releaseAll(): void {
    this.#holder = null
    this.#wakeAll()
  }
}
