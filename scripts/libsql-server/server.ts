/**
 * @module
 * A local libSQL endpoint: the subset of sqld's remote protocol that `@libsql/client`, Drizzle and drizzle-kit
 * use (Hrana v2, JSON over HTTP, `POST /v2/pipeline`, see `protocol.ts`), served from a SQLite file by the engine
 * the file store uses (`src/store/libsql/statement-cache.ts`). It is the remote peer of the tests, the database
 * behind `npm run dev`, and a way to measure the round trips of the remote path (`latencyMs` delays every request;
 * `GET /stats` counts them).
 *
 * In code: `const server = await startLibsqlServer({ dbPath, port: 0 })`, then `server.url`, `server.token`,
 * `server.stats()`. From the shell: `npm run db:serve` (`cli.ts`).
 *
 * Only local programs with the token get in: every route but `GET /health` needs `Authorization: Bearer
 * <token>`, and browser requests are refused (`request-guard.ts`).
 *
 * Protocol surface (what the client sends, STACK.md): `execute`, `batch` (with `ok`/`error`/`not`/`and`/`or`/
 * `is_autocommit` conditions), `sequence`, `store_sql`, `close_sql`, `close`, `get_autocommit`; a stream that is
 * not closed at the end of a pipeline gets a baton, which the next request presents (interactive
 * transactions), and expires after `batonTimeoutMs` idle (its transaction is rolled back). `describe` and
 * cursors (Hrana v3) are not served; clients fall back to v2 because `GET /v3-protobuf` answers 404.
 * Concurrency: see `locks.ts`.
 *
 * Never crashes on input: malformed bodies, unknown request types and bad values are refused with HTTP 400
 * and `{ "message", "code" }` before any statement of the pipeline runs; SQL errors are per-statement results.
 */
import { randomBytes } from 'node:crypto'
import { mkdirSync } from 'node:fs'
import { createServer } from 'node:http'
import type { IncomingHttpHeaders, IncomingMessage, Server, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { dirname, resolve } from 'node:path'
import { Stream, runRequest } from './execute'
import { ConnectionPool, WriteLock } from './locks'
import { ProtocolError, messageOf, parsePipeline, toProtoError } from './protocol'
import { requestGuard, type Refusal } from './request-guard'

export interface LibsqlServerOptions {
  /** SQLite file to serve; created (with its folder) when missing. */
  readonly dbPath: string
  /** TCP port; 0 picks a free one. @default 8080 */
  readonly port?: number
  /** Interface to bind. @default '127.0.0.1' */
  readonly host?: string
  /**
   * The bearer token every route but `GET /health` requires (`Authorization: Bearer <token>`; clients pass it as
   * `authToken` / `TURSO_AUTH_TOKEN`). @default a random one, see {@link LibsqlServer.token}
   */
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
  /** The bearer token clients must send (the one given, or the one generated). */
  readonly token: string
  stats(): LibsqlServerStats
  /** Stops listening, rolls back open transactions and closes the database. */
  close(): Promise<void>
}

const JSON_TYPE = { 'content-type': 'application/json' } as const
const REFUSED_WHILE_STARTING: Refusal = { status: 403, message: 'the endpoint is starting', code: 'FORBIDDEN' }

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
  const token = options.token ?? randomBytes(24).toString('base64url')
  if (!Number.isFinite(latencyMs) || latencyMs < 0) throw new Error(`latencyMs must be >= 0, got ${latencyMs}`)
  if (token === '') throw new Error('token must not be empty')

  mkdirSync(dirname(dbPath), { recursive: true })
  const pool = new ConnectionPool(dbPath, busyTimeoutMs)
  const lock = new WriteLock<Stream>()
  const streams = new Map<string, Stream>()
  let requests = 0
  let pipelines = 0
  let closing = false

  // WAL is a property of the file: set once, it lets readers and a writer from other processes coexist.
  const first = pool.acquire()
  first.db.exec('PRAGMA journal_mode = WAL')
  pool.release(first)

  const dropStream = (stream: Stream): void => {
    if (stream.timer !== null) clearTimeout(stream.timer)
    stream.timer = null
    if (stream.baton !== null) streams.delete(stream.baton)
    stream.baton = null
    stream.closed = true
    lock.release(stream)
    pool.release(stream.connection)
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
      stream = new Stream(pool.acquire())
    }
    await lock.waitFor(stream)

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
    if (stream.inTransaction) lock.take(stream)
    else lock.release(stream)
    return { baton: next, base_url: null, results }
  }

  // Checked against the bound address below, once the port is known.
  let guard: ((headers: IncomingHttpHeaders) => Refusal | null) | null = null
  const server: Server = createServer((req, res) => {
    handleHttp(req, res).catch((err: unknown) => {
      // Last resort: a bug here must cost one request, never the process.
      if (!res.headersSent) sendJson(res, 500, { message: `internal error: ${messageOf(err)}`, code: 'INTERNAL' })
      else res.destroy()
    })
  })

  // Idle keep-alive connections live 120 s, not Node's default 5 s: workerd reuses pooled connections that have
  // been idle longer, and when the endpoint closed one just as workerd sent on it the Worker's store call failed
  // with "Network connection lost" (a W3 batch of 100 runs inside one Worker under wrangler dev failed in two runs
  // of two with 5 s, passed with 120 s; docs/performance.md, issue #18).
  server.keepAliveTimeout = 120_000
  async function handleHttp(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0] ?? '/'
    if (req.method === 'GET' && path === '/health') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok')
      return
    }
    const refusal = guard === null ? REFUSED_WHILE_STARTING : guard(req.headers)
    if (refusal !== null) {
      drain(req)
      sendJson(res, refusal.status, { message: refusal.message, code: refusal.code })
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
  guard = requestGuard({ token, host: `${urlHost}:${port}` })

  return {
    url: `http://${urlHost}:${port}`,
    port,
    token,
    stats: () => ({ requests, pipelines, openStreams: streams.size }),
    close: async () => {
      if (closing) return
      closing = true
      const closed = new Promise<void>((done) => server.close(() => done()))
      server.closeAllConnections()
      for (const stream of [...streams.values()]) dropStream(stream)
      lock.releaseAll()
      await closed
      pool.close()
    },
  }
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

