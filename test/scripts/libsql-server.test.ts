/**
 * The local libSQL endpoint (`scripts/libsql-server/`), exercised with `@libsql/client` itself, with raw
 * HTTP for what a client never sends (bad JSON, unknown request types), and with drizzle-kit and the CLI.
 */
import { spawn } from 'node:child_process'
import { request } from 'node:http'
import { fileURLToPath } from 'node:url'
import { createClient } from '@libsql/client/node'
import type { Client } from '@libsql/client/node'
import { afterEach, describe, expect, it } from 'vitest'
import { startLibsqlServer } from '../../scripts/libsql-server/server'
import type { LibsqlServer, LibsqlServerOptions } from '../../scripts/libsql-server/server'
import { createRemoteLibSQLStore } from '../../src/store/libsql/remote-libsql-store'
import { makeRun } from '../support/fixtures'
import { tempDir } from '../support/libsql-harness'
import type { TempDir } from '../support/libsql-harness'

const REPO = fileURLToPath(new URL('../..', import.meta.url))
const cleanups: (() => Promise<void> | void)[] = []

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

async function serve(options: Partial<LibsqlServerOptions> = {}): Promise<{ server: LibsqlServer; dir: TempDir }> {
  const dir = tempDir('gorkflow-libsql-server-')
  const server = await startLibsqlServer({ dbPath: dir.file('db.sqlite'), port: 0, ...options })
  cleanups.push(() => dir.dispose())
  cleanups.push(() => server.close())
  return { server, dir }
}

function connect(server: LibsqlServer, options: { authToken?: string; intMode?: 'number' | 'bigint' } = {}): Client {
  const client = createClient({ url: server.url, authToken: server.token, ...options })
  cleanups.push(() => client.close())
  return client
}

function bearer(server: LibsqlServer): Record<string, string> {
  return { authorization: `Bearer ${server.token}` }
}

async function pipeline(server: LibsqlServer, body: string, headers: Record<string, string> = bearer(server)) {
  const response = await fetch(`${server.url}/v2/pipeline`, { method: 'POST', body, headers })
  const json = (await response.json()) as Record<string, unknown>
  return { status: response.status, type: response.headers.get('content-type'), body: json }
}

async function count(client: Client, table = 't'): Promise<number> {
  const result = await client.execute(`SELECT count(*) AS n FROM ${table}`)
  return Number(result.rows[0]?.n)
}

describe('local libSQL endpoint', () => {
  it('executes statements and round-trips integers, floats, text, blobs and nulls', async () => {
    const { server } = await serve()
    const client = connect(server, { intMode: 'bigint' })
    await client.execute('CREATE TABLE v (i INTEGER, r REAL, t TEXT, b BLOB, n TEXT)')
    const big = 2n ** 62n + 1n
    const inserted = await client.execute({
      sql: 'INSERT INTO v VALUES (?, ?, ?, ?, ?)',
      args: [big, 1.5, 'naïve 日本 🚀', new Uint8Array([0, 1, 255]), null],
    })
    expect(inserted.rowsAffected).toBe(1)
    expect(inserted.lastInsertRowid).toBe(1n)
    const { rows, columns, columnTypes } = await client.execute('SELECT i, r, t, b, n, 3.0 AS f FROM v')
    expect(columns).toEqual(['i', 'r', 't', 'b', 'n', 'f'])
    expect(columnTypes.slice(0, 4)).toEqual(['INTEGER', 'REAL', 'TEXT', 'BLOB'])
    const row = rows[0] as unknown as Record<string, unknown>
    expect(row.i).toBe(big)
    expect(row.r).toBe(1.5)
    expect(row.t).toBe('naïve 日本 🚀')
    expect(new Uint8Array(row.b as ArrayBuffer)).toEqual(new Uint8Array([0, 1, 255]))
    expect(row.n).toBeNull()
    expect(row.f).toBe(3)
  })

  it('binds named arguments with any prefix, and reports affected rows of RETURNING statements', async () => {
    const { server } = await serve()
    const client = connect(server)
    const named = await client.execute({
      sql: 'SELECT :a AS a, @b AS b, $c AS c, :a + 1 AS a1',
      args: { a: 1, b: 'two', c: null },
    })
    expect(named.rows[0]).toMatchObject({ a: 1, b: 'two', c: null, a1: 2 })
    await client.execute('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)')
    const returned = await client.execute({ sql: 'INSERT INTO t (v) VALUES (?), (?) RETURNING id', args: ['x', 'y'] })
    expect(returned.rows.map((r) => r.id)).toEqual([1, 2])
    expect(returned.rowsAffected).toBe(2)
    const read = await client.execute('SELECT id FROM t')
    expect(read.rowsAffected).toBe(0)
  })

  it('runs a batch as one transaction: a failing statement rolls back the ones before it', async () => {
    const { server } = await serve()
    const client = connect(server)
    await client.execute('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)')
    const ok = await client.batch(
      [
        { sql: 'INSERT INTO t VALUES (1, ?)', args: ['a'] },
        { sql: 'INSERT INTO t VALUES (2, ?)', args: ['b'] },
      ],
      'write',
    )
    expect(ok.map((r) => r.rowsAffected)).toEqual([1, 1])
    const failing = [
      { sql: 'INSERT INTO t VALUES (3, ?)', args: ['c'] },
      { sql: 'INSERT INTO t VALUES (1, ?)', args: ['dup'] },
    ]
    await expect(client.batch(failing, 'write')).rejects.toMatchObject({
      code: expect.stringMatching(/^SQLITE_CONSTRAINT/),
    })
    expect(await count(client)).toBe(2)
  })

  it('commits and rolls back interactive transactions carried across requests by batons', async () => {
    const { server } = await serve()
    const client = connect(server)
    await client.execute('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)')

    const committed = await client.transaction('write')
    await committed.execute({ sql: 'INSERT INTO t (v) VALUES (?)', args: ['kept'] })
    expect(Number((await committed.execute('SELECT count(*) AS n FROM t')).rows[0]?.n)).toBe(1)
    expect(server.stats().openStreams).toBe(1)
    await committed.commit()

    const rolledBack = await client.transaction('write')
    await rolledBack.execute({ sql: 'INSERT INTO t (v) VALUES (?)', args: ['dropped'] })
    await rolledBack.rollback()

    expect((await client.execute('SELECT v FROM t')).rows.map((r) => r.v)).toEqual(['kept'])
    expect(server.stats().openStreams).toBe(0)
  })

  it('serves concurrent requests, queueing writers behind an open transaction until it commits', async () => {
    const { server } = await serve()
    const client = connect(server)
    const other = connect(server)
    await client.execute('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)')
    const tx = await client.transaction('write')
    await tx.execute({ sql: 'INSERT INTO t (v) VALUES (?)', args: ['tx'] })

    let finished = 0
    const writers = Array.from({ length: 10 }, (_, i) =>
      other.execute({ sql: 'INSERT INTO t (v) VALUES (?)', args: [`w${i}`] }).then(() => finished++),
    )
    await new Promise((r) => setTimeout(r, 150))
    expect(finished).toBe(0)
    await tx.commit()
    await Promise.all(writers)
    expect(await count(other)).toBe(11)
    const reads = await Promise.all(Array.from({ length: 20 }, () => count(other)))
    expect(new Set(reads)).toEqual(new Set([11]))
  })

  it('rolls back an abandoned transaction once its baton expires, and lets others proceed', async () => {
    const { server } = await serve({ batonTimeoutMs: 200 })
    const client = connect(server)
    const other = connect(server)
    await client.execute('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)')
    const abandoned = await client.transaction('write')
    await abandoned.execute({ sql: 'INSERT INTO t (v) VALUES (?)', args: ['lost'] })
    // SQLite admits one writer: this insert can only succeed once the abandoned transaction is rolled back.
    await other.execute({ sql: 'INSERT INTO t (v) VALUES (?)', args: ['after'] })
    expect((await other.execute('SELECT v FROM t')).rows.map((r) => r.v)).toEqual(['after'])
    await expect(abandoned.commit()).rejects.toThrow(/baton|expired/i)
    expect(server.stats().openStreams).toBe(0)
  })

  it('answers malformed JSON with a 400 protocol error and keeps serving', async () => {
    const { server } = await serve()
    const refused = await pipeline(server, '{"requests": [')
    expect(refused.status).toBe(400)
    expect(refused.type).toBe('application/json')
    expect(refused.body).toMatchObject({ code: 'JSON_PARSE_ERROR', message: expect.stringContaining('not valid JSON') })
    const shapeless = await pipeline(server, '[1, 2]')
    expect(shapeless).toMatchObject({ status: 400, body: { code: 'PROTOCOL_ERROR' } })
    expect((await connect(server).execute('SELECT 1 AS one')).rows[0]).toMatchObject({ one: 1 })
  })

  it('refuses an unknown request type by name, before running any request of the pipeline', async () => {
    const { server } = await serve()
    const client = connect(server)
    await client.execute('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)')
    const refused = await pipeline(
      server,
      JSON.stringify({
        requests: [{ type: 'execute', stmt: { sql: "INSERT INTO t (v) VALUES ('x')" } }, { type: 'frobnicate' }],
      }),
    )
    expect(refused.status).toBe(400)
    expect(refused.body).toMatchObject({
      code: 'UNKNOWN_REQUEST_TYPE',
      message: expect.stringContaining('"frobnicate"'),
    })
    expect(await count(client)).toBe(0)
    const badValue = await pipeline(
      server,
      JSON.stringify({
        requests: [{ type: 'execute', stmt: { sql: 'SELECT ?', args: [{ type: 'integer', value: 'ten' }] } }],
      }),
    )
    expect(badValue).toMatchObject({
      status: 400,
      body: { message: expect.stringContaining('requests[0].stmt.args[0]') },
    })
  })

  it('serves store_sql, close_sql, sequence, get_autocommit and conditional batch steps', async () => {
    const { server } = await serve()
    const body = {
      requests: [
        { type: 'sequence', sql: 'CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT); CREATE INDEX t_v ON t (v);' },
        { type: 'store_sql', sql_id: 7, sql: 'INSERT INTO t (v) VALUES (?)' },
        { type: 'execute', stmt: { sql_id: 7, args: [{ type: 'text', value: 'a' }] } },
        {
          type: 'batch',
          batch: {
            steps: [
              { stmt: { sql: 'BEGIN' } },
              { condition: { type: 'ok', step: 0 }, stmt: { sql_id: 7, args: [{ type: 'text', value: 'b' }] } },
              {
                condition: { type: 'ok', step: 1 },
                stmt: { sql: 'INSERT INTO t (id, v) VALUES (1, ?)', args: [{ type: 'text', value: 'dup' }] },
              },
              { condition: { type: 'ok', step: 2 }, stmt: { sql: 'COMMIT' } },
              { condition: { type: 'not', cond: { type: 'ok', step: 3 } }, stmt: { sql: 'ROLLBACK' } },
              {
                condition: { type: 'and', conds: [{ type: 'error', step: 2 }, { type: 'is_autocommit' }] },
                stmt: { sql: 'SELECT count(*) FROM t' },
              },
            ],
          },
        },
        { type: 'get_autocommit' },
        { type: 'close_sql', sql_id: 7 },
        { type: 'execute', stmt: { sql_id: 7 } },
        { type: 'describe', sql: 'SELECT 1' },
        { type: 'close' },
      ],
    }
    const { status, body: response } = await pipeline(server, JSON.stringify(body))
    expect(status).toBe(200)
    expect(response.baton).toBeNull()
    type Result = { type: string; response?: { type: string; result?: unknown }; error?: { code: string } }
    const results = response.results as Result[]
    expect(results.map((r) => r.type)).toEqual(['ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'error', 'error', 'ok'])
    const batch = results[3]?.response?.result as { step_results: unknown[]; step_errors: ({ code: string } | null)[] }
    expect(batch.step_errors.map((e) => (e === null ? null : e.code.slice(0, 17)))).toEqual([
      null,
      null,
      'SQLITE_CONSTRAINT',
      null,
      null,
      null,
    ])
    expect(batch.step_results.map((r) => r !== null)).toEqual([true, true, false, false, true, true])
    expect((batch.step_results[5] as { rows: unknown[][] }).rows).toEqual([[{ type: 'integer', value: '1' }]])
    expect(results[4]?.response).toEqual({ type: 'get_autocommit', is_autocommit: true })
    expect(results[6]?.error?.code).toBe('SQL_ID_UNKNOWN')
    expect(results[7]?.error?.code).toBe('NOT_SUPPORTED')
  })

  it('reports SQL errors per statement, including several statements in one execute', async () => {
    const { server } = await serve()
    const client = connect(server)
    await expect(client.execute('SELECT 1; SELECT 2')).rejects.toMatchObject({ code: 'SQL_MANY_STATEMENTS' })
    await expect(client.execute('SELEC 1')).rejects.toMatchObject({ code: 'SQLITE_ERROR' })
    await expect(client.execute('  -- nothing\n')).rejects.toMatchObject({ code: 'SQL_NO_STATEMENT' })
    // Semicolons inside string literals, comments and trigger bodies do not split a statement.
    await client.execute("CREATE TABLE t (v TEXT DEFAULT ';') -- ; trailing comment")
    await client.execute('CREATE TABLE log (v TEXT)')
    await client.execute('CREATE TRIGGER t_log AFTER INSERT ON t BEGIN INSERT INTO log VALUES (new.v); END;')
    await client.execute("INSERT INTO t VALUES ('a;b')")
    expect((await client.execute('SELECT v FROM log')).rows.map((r) => r.v)).toEqual(['a;b'])
  })

  it('requires the bearer token on every route but /health: none or a wrong one is a 401', async () => {
    const { server } = await serve({ token: 'let-me-in' })
    expect(server.token).toBe('let-me-in')
    expect((await fetch(`${server.url}/health`)).status).toBe(200)
    const anonymous = await pipeline(server, JSON.stringify({ requests: [] }), {})
    expect(anonymous).toMatchObject({ status: 401, body: { code: 'UNAUTHORIZED' } })
    const wrong = await pipeline(server, JSON.stringify({ requests: [] }), { authorization: 'Bearer let-me-out' })
    expect(wrong).toMatchObject({ status: 401, body: { code: 'UNAUTHORIZED' } })
    const longer = await pipeline(server, JSON.stringify({ requests: [] }), { authorization: 'Bearer let-me-in!' })
    expect(longer.status).toBe(401)
    expect((await fetch(`${server.url}/stats`)).status).toBe(401)
    await expect(connect(server, { authToken: 'let-me-out' }).execute('SELECT 1')).rejects.toMatchObject({
      code: 'UNAUTHORIZED',
    })
    const allowed = connect(server, { authToken: 'let-me-in' })
    expect((await allowed.execute('SELECT 1 AS one')).rows[0]).toMatchObject({ one: 1 })
  })

  it('generates a random token when none is given', async () => {
    const { server } = await serve()
    const other = await serve()
    expect(server.token).toMatch(/^[A-Za-z0-9_-]{32}$/)
    expect(other.server.token).not.toBe(server.token)
    expect((await pipeline(server, JSON.stringify({ requests: [] }), {})).status).toBe(401)
    expect((await pipeline(server, JSON.stringify({ requests: [] }))).status).toBe(200)
  })

  it('refuses browser requests and foreign Host headers with a 403, even with the right token, and runs nothing', async () => {
    const { server } = await serve()
    const client = connect(server)
    await client.execute('CREATE TABLE t (v TEXT)')
    const drop = JSON.stringify({ requests: [{ type: 'execute', stmt: { sql: 'DROP TABLE t' } }] })
    const browserHeaders: Record<string, string>[] = [
      { origin: 'https://evil.example' },
      { origin: 'null' },
      { 'sec-fetch-site': 'cross-site' },
      { 'sec-fetch-site': 'same-origin' },
      { 'sec-fetch-dest': 'empty' },
      { 'sec-fetch-user': '?1' },
    ]
    for (const header of browserHeaders) {
      const refused = await pipeline(server, drop, { ...bearer(server), ...header })
      expect({ header, refused }).toMatchObject({ refused: { status: 403, body: { code: 'FORBIDDEN' } } })
    }
    for (const host of [`localhost:${server.port}`, `evil.example:${server.port}`, '127.0.0.1', `127.0.0.1:${server.port + 1}`]) {
      const refused = await rawPost(server, drop, { ...bearer(server), host })
      expect({ host, refused }).toMatchObject({ refused: { status: 403 } })
    }
    expect(await count(client)).toBe(0)
    // Node's own fetch sends `sec-fetch-mode: cors`; that alone is no browser.
    expect((await pipeline(server, JSON.stringify({ requests: [] }), { ...bearer(server), 'sec-fetch-mode': 'cors' })).status).toBe(200)
    expect((await rawPost(server, JSON.stringify({ requests: [] }), { ...bearer(server), host: `127.0.0.1:${server.port}` })).status).toBe(200)
  })

  it('binds 127.0.0.1, answers the version probes, adds the configured latency and counts requests', async () => {
    const { server } = await serve({ latencyMs: 60 })
    expect(server.url).toBe(`http://127.0.0.1:${server.port}`)
    expect((await fetch(`${server.url}/v2`, { headers: bearer(server) })).status).toBe(200)
    expect((await fetch(`${server.url}/v3-protobuf`, { headers: bearer(server) })).status).toBe(404)
    const client = connect(server)
    const started = performance.now()
    await client.execute('SELECT 1')
    expect(performance.now() - started).toBeGreaterThanOrEqual(55)
    await client.batch(['SELECT 1', 'SELECT 2'])
    expect(server.stats()).toMatchObject({ requests: 4, pipelines: 2, openStreams: 0 })
    expect(await (await fetch(`${server.url}/stats`, { headers: bearer(server) })).json()).toMatchObject({
      requests: 4,
      pipelines: 2,
    })
  })

  it('works with drizzle-kit migrate, and the migrated database is accepted by the store', async () => {
    const { server } = await serve({ token: 'kit' })
    for (let run = 0; run < 2; run++) {
      const { code, output } = await runCommand(process.execPath, [drizzleKitBin(), 'migrate'], {
        TURSO_DATABASE_URL: server.url,
        TURSO_AUTH_TOKEN: 'kit',
      })
      expect({ code, output }).toMatchObject({ code: 0 })
    }
    const store = await createRemoteLibSQLStore({ url: server.url, authToken: 'kit' })
    cleanups.push(() => store.close())
    const run = makeRun()
    await store.createRun(run)
    expect(await store.getRun(run.runId)).toEqual(run)
  }, 60_000)

  it('runs as a CLI (npm run db:serve) that migrates with --migrate and stops on SIGTERM', async () => {
    const dir = tempDir('gorkflow-libsql-cli-')
    cleanups.push(() => dir.dispose())
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'scripts/libsql-server/cli.ts', '--db', dir.file('cli.db'), '--port', '0', '--migrate'],
      { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LIBSQL_SERVER_TOKEN: 'from-env' } },
    )
    const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)))
    cleanups.push(() => void child.kill('SIGKILL'))
    const url = await new Promise<string>((found, fail) => {
      let output = ''
      child.stdout.on('data', (chunk: Buffer) => {
        output += chunk.toString()
        const match = /listening on (http:\/\/\S+)/.exec(output)
        if (match?.[1] !== undefined) found(match[1])
      })
      child.once('exit', (code) => fail(new Error(`CLI exited with ${code}: ${output}`)))
    })
    expect((await fetch(`${url}/stats`)).status).toBe(401)
    const store = await createRemoteLibSQLStore({ url, authToken: 'from-env' })
    const run = makeRun()
    await store.createRun(run)
    expect(await store.getRun(run.runId)).toEqual(run)
    await store.close()
    child.kill('SIGTERM')
    expect(await exited).toBe(0)
  }, 60_000)
})

function drizzleKitBin(): string {
  return fileURLToPath(new URL('../../node_modules/drizzle-kit/bin.cjs', import.meta.url))
}

function runCommand(
  command: string,
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; output: string }> {
  return new Promise((done) => {
    const child = spawn(command, args, {
      cwd: REPO,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let output = ''
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()))
    child.once('exit', (code) => done({ code, output }))
  })
}

/** A POST with headers `fetch` will not send as given (Host). */
function rawPost(server: LibsqlServer, body: string, headers: Record<string, string>): Promise<{ status: number }> {
  return new Promise((resolve, reject) => {
    const req = request(`${server.url}/v2/pipeline`, { method: 'POST', headers }, (res) => {
      res.resume()
      res.once('end', () => resolve({ status: res.statusCode ?? 0 }))
    })
    req.once('error', reject)
    req.end(body)
  })
}
