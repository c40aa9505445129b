/**
 * @module
 * A local libSQL endpoint: the subset of sqld's remote protocol that `@libsql/client`, Drizzle and drizzle-kit
 * use (Hrana v2, JSON over HTTP, `POST /v2/pipeline`), served from a SQLite file by the embedded `libsql`
 * engine. It is the remote peer of the tests, the database behind `npm run dev`, and a way to measure the
 * round trips of the remote path (`--latency-ms` delays every request; `GET /stats` counts them).
 *
 * Run: `npm run db:serve -- --db .data/gorkflow.db --port 8080 [--token T] [--latency-ms 20] [--migrate]`.
 * In code: `const server = await startLibsqlServer({ dbPath, port: 0 })`, then `server.url`, `server.stats()`.
 *
 * Protocol surface (what the client sends, STACK.md): `execute`, `batch` (with `ok`/`error`/`not`/`and`/`or`/
 * `is_autocommit` conditions), `sequence`, `store_sql`, `close_sql`, `close`, `get_autocommit`; a stream that is
 * not closed at the end of a pipeline gets a baton, which the next request presents (interactive
 * transactions), and expires after `batonTimeoutMs` idle (its transaction is rolled back). `describe` and
 * cursors (Hrana v3) are not served; clients fall back to v2 because `GET /v3-protobuf` answers 404.
 *
 * Concurrency: the engine is synchronous, so each pipeline runs to completion before the next starts. A
 * stream left inside a transaction between requests holds the write lock of its connection; other streams'
 * requests wait (asynchronously) until it commits, rolls back or expires, instead of failing with SQLITE_BUSY.
 *
 * Never crashes on input: malformed bodies, unknown request types and bad values are refused with HTTP 400
 * and `{ "message", "code" }` before any statement of the pipeline runs; SQL errors are per-statement results.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto'
import { mkdirSync } from 'node:fs'
import { createServer } from 'node:http'
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { dirname, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { fileURLToPath, pathToFileURL } from 'node:url'
import Database from 'libsql'

export interface LibsqlServerOptions {
  /** SQLite file to serve; created (with its folder) when missing. */
  readonly dbPath: string
  /** TCP port; 0 picks a free one. @default 8080 */
  readonly port?: number
  /** Interface to bind. @default '127.0.0.1' */
  readonly host?: string
  /** When set, every route but `GET /health` requires `Authorization: Bearer <token>`. */
  readonly token?: string
  /** Delay added to every request before it is handled, in ms (a simulated network round trip). @default 0 */
  readonly latencyMs?: number
  /** An idle stream (and any transaction it holds) is dropped after this long, in ms. @default 10_000 */
  readonly batonTimeoutMs?: number
  /** How long a statement waits for another process's write lock on the file, in ms. @default 5_000 */
  readonly busyTimeoutMs?: number
  /** Largest accepted request body, in bytes. @default 16 MiB */
  readonly maxBodyBytes?: number
}

export interface LibsqlServerStats {
  /** HTTP requests received on every route but `/stats` and `/health`. */
  readonly requests: number
  /** `POST /v2/pipeline` requests among them (the client's round trips). */
  readonly pipelines: number
  /** Streams currently kept open by a baton. */
  readonly openStreams: number
}

export interface LibsqlServer {
  /** `http://host:port`, ready for `createClient({ url })` and `TURSO_DATABASE_URL`. */
  readonly url: string
  readonly port: number
  stats(): LibsqlServerStats
  /** Stops listening, rolls back open transactions and closes the database. */
  close(): Promise<void>
}

/** Refusals of a request as a whole: HTTP 400 with `{ message, code }`, nothing executed. */
class ProtocolError extends Error {
  constructor(
    message: string,
    readonly code = 'PROTOCOL_ERROR',
    readonly status = 400,
  ) {
    super(message)
  }
}

/** A failure of one statement (SQL or its arguments): reported in that statement's result. */
class StatementError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message)
  }
}

type Connection = InstanceType<typeof Database>
type Row = unknown[]

/** Hrana value, as JSON. */
type ProtoValue =
  | { type: 'null' }
  | { type: 'integer'; value: string }
  | { type: 'float'; value: number }
  | { type: 'text'; value: string }
  | { type: 'blob'; base64: string }

interface ProtoStmt {
  sql?: string
  sql_id?: number
  args?: ProtoValue[]
  named_args?: { name: string; value: ProtoValue }[]
  want_rows?: boolean
}

type ProtoCond =
  | { type: 'ok'; step: number }
  | { type: 'error'; step: number }
  | { type: 'not'; cond: ProtoCond }
  | { type: 'and'; conds: ProtoCond[] }
  | { type: 'or'; conds: ProtoCond[] }
  | { type: 'is_autocommit' }

type ProtoRequest =
  | { type: 'close' }
  | { type: 'execute'; stmt: ProtoStmt }
  | { type: 'batch'; batch: { steps: { condition?: ProtoCond | null; stmt: ProtoStmt }[] } }
  | { type: 'sequence'; sql?: string; sql_id?: number }
  | { type: 'describe'; sql?: string; sql_id?: number }
  | { type: 'store_sql'; sql_id: number; sql: string }
  | { type: 'close_sql'; sql_id: number }
  | { type: 'get_autocommit' }

interface StmtResult {
  cols: { name: string; decltype: string | null }[]
  rows: ProtoValue[][]
  affected_row_count: number
  last_insert_rowid: string | null
}

interface ProtoError {
  message: string
  code: string
}

const REQUEST_TYPES = [
  'close',
  'execute',
  'batch',
  'sequence',
  'describe',
  'store_sql',
  'close_sql',
  'get_autocommit',
] as const

const JSON_TYPE = { 'content-type': 'application/json' } as const

/** One Hrana stream: a connection plus the SQL texts stored on it. */
class Stream {
  readonly sqls = new Map<number, string>()
  baton: string | null = null
  timer: NodeJS.Timeout | null = null
  closed = false
  constructor(readonly db: Connection) {}
}

/**
 * Starts the endpoint and resolves once it listens.
 * @example const server = await startLibsqlServer({ dbPath: 'test.db', port: 0 })
 */
export async function startLibsqlServer(options: LibsqlServerOptions): Promise<LibsqlServer> {
  const host = options.host ?? '127.0.0.1'
  const latencyMs = options.latencyMs ?? 0
  const batonTimeoutMs = options.batonTimeoutMs ?? 10_000
  const busyTimeoutMs = options.busyTimeoutMs ?? 5_000
  const maxBodyBytes = options.maxBodyBytes ?? 16 * 1024 * 1024
  const dbPath = resolve(options.dbPath)
  const expectedAuth = options.token === undefined ? null : Buffer.from(`Bearer ${options.token}`)
  if (!Number.isFinite(latencyMs) || latencyMs < 0) throw new Error(`latencyMs must be >= 0, got ${latencyMs}`)

  mkdirSync(dirname(dbPath), { recursive: true })
  const idle: Connection[] = []
  const streams = new Map<string, Stream>()
  let requests = 0
  let pipelines = 0
  let closing = false

  const openConnection = (): Connection => {
    const reused = idle.pop()
    if (reused !== undefined) return reused
    const db = new Database(dbPath, { timeout: busyTimeoutMs })
    // A development endpoint: commits survive a crash of this process, fsyncs happen at checkpoints only.
    db.exec('PRAGMA synchronous = NORMAL')
    return db
  }
  const releaseConnection = (db: Connection): void => {
    try {
      if (db.inTransaction) db.exec('ROLLBACK')
      // Undo what a previous stream may have switched off (the client's migrate() toggles it).
      db.exec('PRAGMA foreign_keys = ON')
    } catch {
      db.close()
      return
    }
    if (closing || idle.length >= 8) db.close()
    else idle.push(db)
  }

  // WAL is a property of the file: set once, it lets readers and a writer from other processes coexist.
  const first = openConnection()
  first.exec('PRAGMA journal_mode = WAL')
  releaseConnection(first)

  // The stream whose connection is inside a transaction between requests, and the requests waiting for it.
  let lockHolder: Stream | null = null
  let lockWaiters: (() => void)[] = []
  const releaseLock = (stream: Stream): void => {
    if (lockHolder !== stream) return
    lockHolder = null
    const waiters = lockWaiters
    lockWaiters = []
    for (const wake of waiters) wake()
  }
  const waitForLock = async (stream: Stream): Promise<void> => {
    while (lockHolder !== null && lockHolder !== stream) {
      await new Promise<void>((wake) => lockWaiters.push(wake))
    }
  }

  const dropStream = (stream: Stream): void => {
    if (stream.timer !== null) clearTimeout(stream.timer)
    stream.timer = null
    if (stream.baton !== null) streams.delete(stream.baton)
    stream.baton = null
    stream.closed = true
    releaseLock(stream)
    releaseConnection(stream.db)
  }

  async function handlePipeline(body: unknown): Promise<unknown> {
    const { baton, requests: pipeline } = parsePipeline(body)
    let stream: Stream
    if (baton !== null) {
      const found = streams.get(baton)
      if (found === undefined) {
        throw new ProtocolError('the baton is unknown or its stream expired; open a new stream', 'STREAM_EXPIRED')
      }
      stream = found
      streams.delete(baton)
      stream.baton = null
      if (stream.timer !== null) clearTimeout(stream.timer)
      stream.timer = null
    } else {
      stream = new Stream(openConnection())
    }
    await waitForLock(stream)

    const results = pipeline.map((request) => {
      if (stream.closed) {
        return { type: 'error', error: { message: 'the stream is closed', code: 'STREAM_CLOSED' } }
      }
      try {
        return { type: 'ok', response: runRequest(stream, request) }
      } catch (err) {
        return { type: 'error', error: toProtoError(err) }
      }
    })

    if (stream.closed || closing) {
      dropStream(stream)
      return { baton: null, base_url: null, results }
    }
    const next = randomBytes(18).toString('base64url')
    stream.baton = next
    streams.set(next, stream)
    stream.timer = setTimeout(() => dropStream(stream), batonTimeoutMs)
    stream.timer.unref()
    if (stream.db.inTransaction) lockHolder = stream
    else releaseLock(stream)
    return { baton: next, base_url: null, results }
  }

  const server: Server = createServer((req, res) => {
    handleHttp(req, res).catch((err: unknown) => {
      // Last resort: a bug here must cost one request, never the process.
      if (!res.headersSent) sendJson(res, 500, { message: `internal error: ${messageOf(err)}`, code: 'INTERNAL' })
      else res.destroy()
    })
  })

  async function handleHttp(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0] ?? '/'
    if (req.method === 'GET' && path === '/health') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok')
      return
    }
    if (expectedAuth !== null && !authorized(req.headers.authorization, expectedAuth)) {
      drain(req)
      sendJson(res, 401, { message: 'missing or wrong bearer token', code: 'UNAUTHORIZED' })
      return
    }
    if (req.method === 'GET' && path === '/stats') {
      sendJson(res, 200, { requests, pipelines, openStreams: streams.size })
      return
    }
    requests++
    if (latencyMs > 0) await sleep(latencyMs)
    if (req.method === 'GET' && (path === '/v2' || path === '/v2/')) {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('Hrana v2 over HTTP')
      return
    }
    if (req.method === 'GET' && path === '/version') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('gorkflow-libsql-server')
      return
    }
    if (path === '/v2/pipeline') {
      if (req.method !== 'POST') {
        drain(req)
        sendJson(res, 405, { message: 'use POST for /v2/pipeline', code: 'METHOD_NOT_ALLOWED' })
        return
      }
      pipelines++
      let body: unknown
      try {
        const text = await readBody(req, maxBodyBytes)
        try {
          body = JSON.parse(text)
        } catch (err) {
          throw new ProtocolError(`the request body is not valid JSON: ${messageOf(err)}`, 'JSON_PARSE_ERROR')
        }
        sendJson(res, 200, await handlePipeline(body))
      } catch (err) {
        if (err instanceof ProtocolError) sendJson(res, err.status, { message: err.message, code: err.code })
        else throw err
      }
      return
    }
    drain(req)
    sendJson(res, 404, {
      message: `no route ${req.method ?? ''} ${path}; this endpoint serves Hrana v2 at POST /v2/pipeline`,
      code: 'NOT_FOUND',
    })
  }

  await new Promise<void>((resolveListen, rejectListen) => {
    server.once('error', rejectListen)
    server.listen(options.port ?? 8080, host, () => {
      server.off('error', rejectListen)
      resolveListen()
    })
  })
  const port = (server.address() as AddressInfo).port
  const urlHost = host.includes(':') ? `[${host}]` : host

  return {
    url: `http://${urlHost}:${port}`,
    port,
    stats: () => ({ requests, pipelines, openStreams: streams.size }),
    close: async () => {
      if (closing) return
      closing = true
      const closed = new Promise<void>((done) => server.close(() => done()))
      server.closeAllConnections()
      for (const stream of [...streams.values()]) dropStream(stream)
      for (const wake of lockWaiters) wake()
      lockWaiters = []
      await closed
      for (const db of idle.splice(0)) db.close()
    },
  }
}

/** Executes one request of a pipeline on its stream; throws StatementError for SQL failures. */
function runRequest(stream: Stream, request: ProtoRequest): unknown {
  switch (request.type) {
    case 'close':
      stream.closed = true
      return { type: 'close' }
    case 'execute':
      return { type: 'execute', result: executeStmt(stream, request.stmt) }
    case 'batch':
      return { type: 'batch', result: executeBatch(stream, request.batch.steps) }
    case 'sequence': {
      const text = resolveSql(stream, request.sql, request.sql_id)
      try {
        stream.db.exec(text)
      } catch (err) {
        throw sqliteError(err)
      }
      return { type: 'sequence' }
    }
    case 'describe':
      throw new StatementError('describe is not supported by this endpoint', 'NOT_SUPPORTED')
    case 'store_sql':
      stream.sqls.set(request.sql_id, request.sql)
      return { type: 'store_sql' }
    case 'close_sql':
      stream.sqls.delete(request.sql_id)
      return { type: 'close_sql' }
    case 'get_autocommit':
      return { type: 'get_autocommit', is_autocommit: !stream.db.inTransaction }
  }
}

function executeBatch(
  stream: Stream,
  steps: { condition?: ProtoCond | null; stmt: ProtoStmt }[],
): { step_results: (StmtResult | null)[]; step_errors: (ProtoError | null)[] } {
  const stepResults: (StmtResult | null)[] = []
  const stepErrors: (ProtoError | null)[] = []
  const outcome: ('ok' | 'error' | 'skipped')[] = []
  const holds = (cond: ProtoCond, current: number): boolean => {
    switch (cond.type) {
      case 'ok':
      case 'error':
        if (cond.step >= current) {
          throw new ProtocolError(`a condition of batch step ${current} refers to step ${cond.step}, which runs later`)
        }
        return outcome[cond.step] === cond.type
      case 'not':
        return !holds(cond.cond, current)
      case 'and':
        return cond.conds.every((c) => holds(c, current))
      case 'or':
        return cond.conds.some((c) => holds(c, current))
      case 'is_autocommit':
        return !stream.db.inTransaction
    }
  }
  steps.forEach((step, index) => {
    if (step.condition != null && !holds(step.condition, index)) {
      stepResults.push(null)
      stepErrors.push(null)
      outcome.push('skipped')
      return
    }
    try {
      stepResults.push(executeStmt(stream, step.stmt))
      stepErrors.push(null)
      outcome.push('ok')
    } catch (err) {
      if (err instanceof ProtocolError) throw err
      stepResults.push(null)
      stepErrors.push(toProtoError(err))
      outcome.push('error')
    }
  })
  return { step_results: stepResults, step_errors: stepErrors }
}

function executeStmt(stream: Stream, stmt: ProtoStmt): StmtResult {
  const text = resolveSql(stream, stmt.sql, stmt.sql_id)
  const shape = scanSql(text)
  if (shape.statements === 0) throw new StatementError('the SQL text contains no statement', 'SQL_NO_STATEMENT')
  if (shape.statements > 1) {
    throw new StatementError(
      'the SQL text contains more than one statement; use a batch or a sequence',
      'SQL_MANY_STATEMENTS',
    )
  }
  const args = bindArguments(shape.params, stmt.args ?? [], stmt.named_args ?? [])
  const db = stream.db
  try {
    const prepared = prepareCached(db, text)
    if (prepared.reader) {
      const cols = prepared.columns().map((col) => ({ name: col.name, decltype: col.type }))
      const before = totalChanges(db)
      const rows = prepared.all(args) as Row[]
      // RETURNING statements are readers too; the total-changes counter tells whether this one wrote.
      const wrote = totalChanges(db) !== before
      const [affected, rowid] = wrote ? changesAndRowid(db) : [0, null]
      return {
        cols,
        rows: stmt.want_rows === false ? [] : rows.map((row) => row.map(encodeValue)),
        affected_row_count: affected,
        last_insert_rowid: rowid,
      }
    }
    const info = prepared.run(args)
    return {
      cols: [],
      rows: [],
      affected_row_count: info.changes,
      last_insert_rowid: String(info.lastInsertRowid),
    }
  } catch (err) {
    if (err instanceof StatementError || err instanceof ProtocolError) throw err
    throw sqliteError(err)
  }
}

/** Prepared statements per connection: preparing costs more than running the statements a store sends. */
const statementCaches = new WeakMap<Connection, Map<string, Statement>>()
const STATEMENT_CACHE_SIZE = 512

type Statement = ReturnType<Connection['prepare']>

/** The connection's statement for `text`, in safe-integer mode and, for readers, raw (array) rows. */
function prepareCached(db: Connection, text: string): Statement {
  let cache = statementCaches.get(db)
  if (cache === undefined) {
    cache = new Map()
    statementCaches.set(db, cache)
  }
  const cached = cache.get(text)
  if (cached !== undefined) return cached
  const prepared = db.prepare(text)
  prepared.safeIntegers(true)
  if (prepared.reader) prepared.raw(true)
  if (cache.size >= STATEMENT_CACHE_SIZE) cache.delete(cache.keys().next().value as string)
  cache.set(text, prepared)
  return prepared
}

function totalChanges(db: Connection): bigint {
  const row = prepareCached(db, 'SELECT total_changes()').get([]) as Row
  return row[0] as bigint
}

function changesAndRowid(db: Connection): [number, string] {
  const row = prepareCached(db, 'SELECT changes(), last_insert_rowid()').get([]) as Row
  return [Number(row[0]), String(row[1])]
}

function resolveSql(stream: Stream, sql: string | undefined, sqlId: number | undefined): string {
  if (sql !== undefined) return sql
  const stored = sqlId === undefined ? undefined : stream.sqls.get(sqlId)
  if (stored === undefined) throw new StatementError(`no SQL text is stored under sql_id ${sqlId}`, 'SQL_ID_UNKNOWN')
  return stored
}

// ---------------------------------------------------------------------------------------------------------
// Values and parameters

type SqlValue = null | bigint | number | string | Buffer

function decodeValue(value: ProtoValue): SqlValue {
  switch (value.type) {
    case 'null':
      return null
    case 'integer':
      return BigInt(value.value)
    case 'float':
      return value.value
    case 'text':
      return value.value
    case 'blob':
      return Buffer.from(value.base64, 'base64')
  }
}

function encodeValue(value: unknown): ProtoValue {
  if (value === null || value === undefined) return { type: 'null' }
  if (typeof value === 'bigint') return { type: 'integer', value: value.toString() }
  if (typeof value === 'number') return { type: 'float', value }
  if (typeof value === 'string') return { type: 'text', value }
  if (value instanceof Uint8Array) return { type: 'blob', base64: Buffer.from(value).toString('base64') }
  return { type: 'text', value: String(value) }
}

/** A parameter occurrence in SQL text: `?`, `?NNN`, or `:name` / `@name` / `$name` (name with its prefix). */
type ParamToken = { kind: 'next' } | { kind: 'numbered'; index: number } | { kind: 'named'; name: string }

/**
 * Binds Hrana arguments by SQLite's numbering rules (`?` takes the next index, `?NNN` index NNN, a name the
 * next index at its first occurrence), always as a positional array: the engine's named binding aborts the
 * process when the SQL also has `?` parameters.
 */
function bindArguments(
  params: ParamToken[],
  args: ProtoValue[],
  namedArgs: { name: string; value: ProtoValue }[],
): SqlValue[] {
  const values: SqlValue[] = args.map(decodeValue)
  if (namedArgs.length === 0) return values
  const byName = new Map<string, SqlValue>()
  for (const { name, value } of namedArgs) byName.set(stripPrefix(name), decodeValue(value))
  const indexOf = new Map<string, number>()
  let highest = 0
  for (const param of params) {
    if (param.kind === 'next') highest++
    else if (param.kind === 'numbered') highest = Math.max(highest, param.index)
    else if (!indexOf.has(param.name)) {
      highest++
      indexOf.set(param.name, highest)
    }
  }
  for (const [name, index] of indexOf) {
    const value = byName.get(stripPrefix(name))
    while (values.length < index) values.push(null)
    if (value !== undefined) values[index - 1] = value
  }
  return values
}

function stripPrefix(name: string): string {
  return /^[:@$]/.test(name) ? name.slice(1) : name
}

/**
 * Lexes SQL text just enough to find its parameters and count its statements, skipping string literals,
 * quoted identifiers and comments. Semicolons inside `CREATE TRIGGER … END` do not end the statement.
 */
export function scanSql(text: string): { params: ParamToken[]; statements: number } {
  const params: ParamToken[] = []
  let statements = 0
  let inStatement = false
  let words: string[] = []
  let i = 0
  const n = text.length
  const startToken = (): void => {
    if (!inStatement) {
      inStatement = true
      statements++
      words = []
    }
  }
  while (i < n) {
    const c = text[i] as string
    if (c === '-' && text[i + 1] === '-') {
      const end = text.indexOf('\n', i)
      i = end === -1 ? n : end + 1
    } else if (c === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2)
      i = end === -1 ? n : end + 2
    } else if (c === "'" || c === '"' || c === '`' || c === '[') {
      startToken()
      const close = c === '[' ? ']' : c
      let j = i + 1
      while (j < n) {
        if (text[j] === close) {
          if (close !== ']' && text[j + 1] === close) j += 2
          else break
        } else j++
      }
      i = j + 1
    } else if (c === ';') {
      const trigger = words[0] === 'CREATE' && words.slice(1, 4).includes('TRIGGER')
      if (!trigger || words.at(-1) === 'END') inStatement = false
      i++
    } else if (/\s/.test(c)) {
      i++
    } else if (c === '?') {
      startToken()
      let j = i + 1
      while (j < n && /[0-9]/.test(text[j] as string)) j++
      params.push(j > i + 1 ? { kind: 'numbered', index: Number(text.slice(i + 1, j)) } : { kind: 'next' })
      i = j
    } else if ((c === ':' || c === '@' || c === '$') && /[A-Za-z0-9_]/.test(text[i + 1] ?? '')) {
      startToken()
      let j = i + 1
      while (j < n && /[A-Za-z0-9_$]/.test(text[j] as string)) j++
      params.push({ kind: 'named', name: text.slice(i, j) })
      i = j
    } else if (/[A-Za-z_]/.test(c)) {
      startToken()
      let j = i + 1
      while (j < n && /[A-Za-z0-9_$]/.test(text[j] as string)) j++
      if (words.length < 8) words.push(text.slice(i, j).toUpperCase())
      else words[7] = text.slice(i, j).toUpperCase()
      i = j
    } else {
      startToken()
      i++
    }
  }
  return { params, statements }
}

// ---------------------------------------------------------------------------------------------------------
// Request validation: everything is checked before anything runs.

function parsePipeline(body: unknown): { baton: string | null; requests: ProtoRequest[] } {
  if (!isObject(body)) throw new ProtocolError('the request body must be a JSON object with a "requests" array')
  const baton = body.baton
  if (baton !== undefined && baton !== null && typeof baton !== 'string') {
    throw new ProtocolError('"baton" must be a string or null')
  }
  if (!Array.isArray(body.requests)) throw new ProtocolError('"requests" must be an array')
  const requests = body.requests.map((request, index) => parseRequest(request, `requests[${index}]`))
  return { baton: typeof baton === 'string' ? baton : null, requests }
}

function parseRequest(value: unknown, where: string): ProtoRequest {
  if (!isObject(value) || typeof value.type !== 'string') {
    throw new ProtocolError(`${where} must be an object with a string "type"`)
  }
  const type = value.type
  switch (type) {
    case 'close':
    case 'get_autocommit':
      return { type }
    case 'execute':
      return { type, stmt: parseStmt(value.stmt, `${where}.stmt`) }
    case 'batch': {
      const batch = value.batch
      if (!isObject(batch) || !Array.isArray(batch.steps)) {
        throw new ProtocolError(`${where}.batch must be an object with a "steps" array`)
      }
      const steps = batch.steps.map((step, i) => {
        const at = `${where}.batch.steps[${i}]`
        if (!isObject(step)) throw new ProtocolError(`${at} must be an object`)
        const condition = step.condition == null ? null : parseCond(step.condition, `${at}.condition`)
        return { condition, stmt: parseStmt(step.stmt, `${at}.stmt`) }
      })
      return { type, batch: { steps } }
    }
    case 'sequence':
    case 'describe':
      return { type, ...parseSqlRef(value, where) }
    case 'store_sql':
      if (typeof value.sql !== 'string') throw new ProtocolError(`${where}.sql must be a string`)
      return { type, sql_id: parseSqlId(value.sql_id, `${where}.sql_id`), sql: value.sql }
    case 'close_sql':
      return { type, sql_id: parseSqlId(value.sql_id, `${where}.sql_id`) }
    default:
      throw new ProtocolError(
        `${where} has unknown type ${JSON.stringify(type)}; this endpoint serves ${REQUEST_TYPES.join(', ')}`,
        'UNKNOWN_REQUEST_TYPE',
      )
  }
}

function parseStmt(value: unknown, where: string): ProtoStmt {
  if (!isObject(value)) throw new ProtocolError(`${where} must be an object`)
  const stmt: ProtoStmt = parseSqlRef(value, where)
  if (value.args != null) {
    if (!Array.isArray(value.args)) throw new ProtocolError(`${where}.args must be an array`)
    stmt.args = value.args.map((arg, i) => parseValue(arg, `${where}.args[${i}]`))
  }
  if (value.named_args != null) {
    if (!Array.isArray(value.named_args)) throw new ProtocolError(`${where}.named_args must be an array`)
    stmt.named_args = value.named_args.map((arg, i) => {
      const at = `${where}.named_args[${i}]`
      if (!isObject(arg) || typeof arg.name !== 'string') throw new ProtocolError(`${at} must have a string "name"`)
      return { name: arg.name, value: parseValue(arg.value, `${at}.value`) }
    })
  }
  if (value.want_rows != null) {
    if (typeof value.want_rows !== 'boolean') throw new ProtocolError(`${where}.want_rows must be a boolean`)
    stmt.want_rows = value.want_rows
  }
  return stmt
}

function parseSqlRef(value: Record<string, unknown>, where: string): { sql?: string; sql_id?: number } {
  if (typeof value.sql === 'string') return { sql: value.sql }
  if (value.sql_id != null) return { sql_id: parseSqlId(value.sql_id, `${where}.sql_id`) }
  throw new ProtocolError(`${where} needs "sql" (a string) or "sql_id"`)
}

function parseSqlId(value: unknown, where: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new ProtocolError(`${where} must be a non-negative integer`)
  }
  return value
}

function parseValue(value: unknown, where: string): ProtoValue {
  if (!isObject(value)) throw new ProtocolError(`${where} must be a value object`)
  switch (value.type) {
    case 'null':
      return { type: 'null' }
    case 'integer':
      if (typeof value.value !== 'string' || !/^-?\d{1,19}$/.test(value.value)) {
        throw new ProtocolError(`${where}.value must be a decimal integer string`)
      }
      if (BigInt(value.value) > 9223372036854775807n || BigInt(value.value) < -9223372036854775808n) {
        throw new ProtocolError(`${where}.value is outside the 64-bit integer range`)
      }
      return { type: 'integer', value: value.value }
    case 'float':
      if (typeof value.value !== 'number') throw new ProtocolError(`${where}.value must be a number`)
      return { type: 'float', value: value.value }
    case 'text':
      if (typeof value.value !== 'string') throw new ProtocolError(`${where}.value must be a string`)
      return { type: 'text', value: value.value }
    case 'blob':
      if (typeof value.base64 !== 'string') throw new ProtocolError(`${where}.base64 must be a string`)
      return { type: 'blob', base64: value.base64 }
    default:
      throw new ProtocolError(`${where}.type must be one of null, integer, float, text, blob`)
  }
}

function parseCond(value: unknown, where: string): ProtoCond {
  if (!isObject(value)) throw new ProtocolError(`${where} must be an object`)
  switch (value.type) {
    case 'ok':
    case 'error':
      return { type: value.type, step: parseSqlId(value.step, `${where}.step`) }
    case 'not':
      return { type: 'not', cond: parseCond(value.cond, `${where}.cond`) }
    case 'and':
    case 'or':
      if (!Array.isArray(value.conds)) throw new ProtocolError(`${where}.conds must be an array`)
      return { type: value.type, conds: value.conds.map((c, i) => parseCond(c, `${where}.conds[${i}]`)) }
    case 'is_autocommit':
      return { type: 'is_autocommit' }
    default:
      throw new ProtocolError(`${where}.type must be one of ok, error, not, and, or, is_autocommit`)
  }
}

// ---------------------------------------------------------------------------------------------------------
// HTTP helpers

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function authorized(header: string | undefined, expected: Buffer): boolean {
  if (header === undefined) return false
  const given = Buffer.from(header)
  return given.length === expected.length && timingSafeEqual(given, expected)
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  // Exactly `application/json` (no charset): @libsql/client only parses error bodies with that type.
  res.writeHead(status, JSON_TYPE).end(JSON.stringify(body))
}

async function readBody(req: IncomingMessage, limit: number): Promise<string> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length
    if (size > limit) {
      req.resume()
      throw new ProtocolError(`the request body is larger than ${limit} bytes`, 'BODY_TOO_LARGE', 413)
    }
    chunks.push(chunk)
  }
  return Buffer.concat(chunks).toString('utf8')
}

function drain(req: IncomingMessage): void {
  req.resume()
}

function sleep(ms: number): Promise<void> {
  return new Promise((done) => setTimeout(done, ms))
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}

function sqliteError(err: unknown): StatementError {
  const code = typeof (err as { code?: unknown })?.code === 'string' ? (err as { code: string }).code : 'SQLITE_ERROR'
  return new StatementError(messageOf(err), code)
}

function toProtoError(err: unknown): ProtoError {
  if (err instanceof StatementError || err instanceof ProtocolError) return { message: err.message, code: err.code }
  return sqliteError(err)
}

// ---------------------------------------------------------------------------------------------------------
// CLI

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      db: { type: 'string', default: '.data/gorkflow.db' },
      port: { type: 'string', default: '8080' },
      host: { type: 'string', default: '127.0.0.1' },
      token: { type: 'string' },
      'latency-ms': { type: 'string', default: '0' },
      'baton-timeout-ms': { type: 'string', default: '10000' },
      migrate: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  })
  if (values.help) {
    console.log(
      'usage: npm run db:serve -- [--db FILE] [--port N] [--host ADDR] [--token T] [--latency-ms N] ' +
        '[--baton-timeout-ms N] [--migrate]',
    )
    return
  }
  const dbPath = values.db
  if (values.migrate) {
    // Loaded only on request: the endpoint itself needs nothing but the engine.
    const { createLibSQLStore } = await import('../src/store/libsql/create-libsql-store')
    const store = await createLibSQLStore({ url: `file:${resolve(dbPath)}` })
    await store.close()
  }
  const token = values.token ?? process.env.LIBSQL_SERVER_TOKEN
  const server = await startLibsqlServer({
    dbPath,
    port: parseNumber(values.port, 'port'),
    host: values.host,
    latencyMs: parseNumber(values['latency-ms'], 'latency-ms'),
    batonTimeoutMs: parseNumber(values['baton-timeout-ms'], 'baton-timeout-ms'),
    ...(token === undefined || token === '' ? {} : { token }),
  })
  console.log(`libsql endpoint for ${resolve(dbPath)} listening on ${server.url}`)
  console.log(`  TURSO_DATABASE_URL=${server.url}${token ? ' TURSO_AUTH_TOKEN=<your token>' : ''}`)
  const stop = (): void => {
    void server.close().then(() => process.exit(0))
  }
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
}

function parseNumber(text: string, name: string): number {
  const value = Number(text)
  if (!Number.isFinite(value) || value < 0) {
    console.error(`--${name} must be a non-negative number, got ${JSON.stringify(text)}`)
    process.exit(2)
  }
  return value
}

const invokedPath = process.argv[1]
if (invokedPath !== undefined && import.meta.url === pathToFileURL(resolve(invokedPath)).href) {
  main().catch((err: unknown) => {
    console.error(messageOf(err))
    process.exit(1)
  })
}

export const LIBSQL_SERVER_SCRIPT = fileURLToPath(import.meta.url)
