/**
 * The Node entry: `startNodeServer` on a real port with the embedded LibSQL file, the sweeper timer, and a
 * shutdown that releases leases and closes the store.
 */
import { spawn } from 'node:child_process'
import { afterEach, describe, expect, it } from 'vitest'
import { silentLogger } from '../../src/core/logger'
import { nodeOptionsFromEnv, startNodeServer, type NodeServer } from '../../src/node'
import { createLibSQLStore } from '../../src/store/libsql/create-libsql-store'
import { makeRun } from '../support/fixtures'
import { tempDir, type TempDir } from '../support/libsql-harness'
import { bearerFetch } from '../support/local-server'

const TOKEN = 'node-entry-token'
let server: NodeServer | undefined
let dir: TempDir | undefined

afterEach(async () => {
  await server?.close()
  server = undefined
  dir?.dispose()
  dir = undefined
})

async function start(options: { sweepIntervalMs?: number; retentionMs?: number } = {}): Promise<NodeServer> {
  dir ??= tempDir('gorkflow-node-')
  server = await startNodeServer({
    port: 0,
    apiTokens: [TOKEN],
    databaseUrl: `file:${dir.file('gorkflow.db')}`,
    logger: silentLogger,
    sweepIntervalMs: options.sweepIntervalMs ?? 0,
    ...(options.retentionMs === undefined ? {} : { retentionMs: options.retentionMs }),
  })
  return server
}

function call(s: NodeServer, method: string, path: string, body?: unknown): Promise<Response> {
  return bearerFetch(s.url, TOKEN, method, path, body)
}

describe('startNodeServer', () => {
  it('serves the API on 127.0.0.1 over the embedded LibSQL file, migrated on open', async () => {
    const s = await start()
    expect(s.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    expect(await (await fetch(`${s.url}/health`)).json()).toEqual({ ok: true, store: 'libsql' })
    const res = await call(s, 'POST', '/v1/workflows/sequential/runs?wait=true', { input: { val1: 1, val2: 2, mult: 3 } })
    expect(res.status).toBe(200)
    expect(((await res.json()) as any).run.output).toEqual({ message: 'The final result is 9' })
    expect((await fetch(`${s.url}/v1/runs`)).status).toBe(401)
  })

  it('keeps runs in the file across a restart', async () => {
    const first = await start()
    const { run } = (await (await call(first, 'POST', '/v1/workflows/parallel/runs?wait=true', { input: { val1: 2, val2: 5 } })).json()) as any
    await first.close()
    const second = await start()
    const read = await call(second, 'GET', `/v1/runs/${run.runId}`)
    expect(((await read.json()) as any).run).toMatchObject({ status: 'COMPLETED', output: { message: 'sum=7 product=10' } })
  })

  it('resumes a run nobody holds from the sweeper timer', async () => {
    dir = tempDir('gorkflow-node-')
    const seed = await createLibSQLStore({ url: `file:${dir.file('gorkflow.db')}` })
    const orphan = makeRun({ workflowId: 'sequential', workflowVersion: '1.0', input: { val1: 4, val2: 4, mult: 2 }, createdAt: Date.now(), updatedAt: Date.now() })
    await seed.createRun(orphan)
    await seed.close()
    const s = await start({ sweepIntervalMs: 50 })
    await expect
      .poll(async () => (await s.store.getRun(orphan.runId)).status, { timeout: 10_000, interval: 50 })
      .toBe('COMPLETED')
    expect((await s.store.getRun(orphan.runId)).output).toEqual({ message: 'The final result is 16' })
  })

  it('releases the lease of a run it started but did not execute when it shuts down', async () => {
    const s = await start()
    const { run } = await s.engine.start('sequential', { val1: 1, val2: 1, mult: 1 })
    expect(run.leaseOwner).toBe(s.engine.ownerId)
    const file = dir!.file('gorkflow.db')
    await s.close()
    server = undefined
    const reopened = await createLibSQLStore({ url: `file:${file}` })
    try {
      expect(await reopened.getRun(run.runId)).toMatchObject({ status: 'PENDING', leaseOwner: null })
    } finally {
      await reopened.close()
    }
    await expect(fetch(`${s.url}/health`)).rejects.toThrow()
  })
})

describe("the Node entry's environment", () => {
  it('reads RETENTION_DAYS as retentionMs beside SWEEP_INTERVAL_MS and LEASE_MS, leaving unset ones out', () => {
    expect(nodeOptionsFromEnv({})).toEqual({})
    expect(nodeOptionsFromEnv({ RETENTION_DAYS: '30', SWEEP_INTERVAL_MS: '1000', LEASE_MS: '60000', PORT: '8080' })).toEqual({
      retentionMs: 30 * 86_400_000,
      sweepIntervalMs: 1000,
      leaseMs: 60_000,
      port: 8080,
    })
    expect(nodeOptionsFromEnv({ RETENTION_DAYS: ' 0 ' })).toEqual({ retentionMs: 0 })
    expect(nodeOptionsFromEnv({ SHUTDOWN_GRACE_MS: '250' })).toEqual({ shutdownGraceMs: 250 })
    expect(() => nodeOptionsFromEnv({ SHUTDOWN_GRACE_MS: '-1' })).toThrow('SHUTDOWN_GRACE_MS must be a non-negative integer, got "-1"')
    expect(nodeOptionsFromEnv({ RETENTION_DAYS: '' })).toEqual({})
  })

  it.each(['soon', '-1', '1.5', '7d', '1e300'])('refuses RETENTION_DAYS=%s naming the variable', (raw) => {
    expect(() => nodeOptionsFromEnv({ RETENTION_DAYS: raw })).toThrow(`RETENTION_DAYS must be a non-negative integer, got ${JSON.stringify(raw)}`)
  })

  it('refuses a RETENTION_DAYS whose milliseconds are not a safe integer', () => {
    expect(() => nodeOptionsFromEnv({ RETENTION_DAYS: '200000000' })).toThrow('RETENTION_DAYS is too large')
  })

  it('stops `npm start` with the message and exit code 1 for a bad RETENTION_DAYS', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/node.ts'], {
      env: { ...process.env, RETENTION_DAYS: 'forever', STORE: 'memory', PORT: '0', API_TOKEN: TOKEN },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stderr = ''
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    const killer = setTimeout(() => child.kill('SIGKILL'), 20_000)
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve))
    clearTimeout(killer)
    expect(code).toBe(1)
    expect(stderr.trim()).toBe('RETENTION_DAYS must be a non-negative integer, got "forever"')
  })

  it('opens the database named by DATABASE_URL (the older name of TURSO_DATABASE_URL) and shuts down through its logger', async () => {
    dir ??= tempDir('gorkflow-node-')
    const file = dir.file('alias.db')
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/node.ts'], {
      env: { ...process.env, DATABASE_URL: `file:${file}`, TURSO_DATABASE_URL: '', PORT: '0', API_TOKEN: TOKEN, LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    const killer = setTimeout(() => child.kill('SIGKILL'), 30_000)
    let stdout = ''
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve))
    await expect.poll(() => /listening on (\S+) /.exec(stdout)?.[1], { timeout: 25_000, interval: 50 }).toBeDefined()
    const url = /listening on (\S+) /.exec(stdout)![1]!
    expect(stdout).toContain(`(store: file:${file})`)
    const started = await fetch(`${url}/v1/workflows/sequential/runs?wait=true`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ input: { val1: 1, val2: 1, mult: 1 } }),
    })
    const { run } = (await started.json()) as any
    child.kill('SIGTERM')
    expect(await exited).toBe(0)
    clearTimeout(killer)
    const events = stdout
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { event: string; signal?: string })
    expect(events).toContainEqual(expect.objectContaining({ event: 'shutdown_started', signal: 'SIGTERM' }))
    const reopened = await createLibSQLStore({ url: `file:${file}` })
    expect(await reopened.getRun(run.runId)).toMatchObject({ status: 'COMPLETED' })
    await reopened.close()
  })

  it('deletes finished runs older than retentionMs from the sweeper timer', async () => {
    const s = await start({ sweepIntervalMs: 50, retentionMs: 0 })
    const res = await call(s, 'POST', '/v1/workflows/sequential/runs?wait=true', { input: { val1: 1, val2: 2, mult: 3 } })
    const { run } = (await res.json()) as any
    expect(run.status).toBe('COMPLETED')
    await expect.poll(async () => (await call(s, 'GET', `/v1/runs/${run.runId}`)).status, { timeout: 10_000, interval: 50 }).toBe(404)
  })
})
