/**
 * End to end: the real `npm run dev` stack (scripts/dev.ts: the local libSQL endpoint on a file, migrated, and
 * `wrangler dev` running src/worker.ts in workerd) driven over HTTP with the example workflows.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type DevSession, drivenDevOptions, startDev } from '../../scripts/dev'

const TOKEN = 'e2e-token-7f3a9c'
let dir: string
let port: number
let session: DevSession | undefined

async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port: found } = server.address() as { port: number }
      server.close(() => resolvePort(found))
    })
  })
}

function start(): Promise<DevSession> {
  return startDev(drivenDevOptions(dir, port, TOKEN))
}

async function api(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${session!.url}${path}`, {
    method,
    headers: { Authorization: `Bearer ${TOKEN}`, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  })
  return { status: res.status, body: await res.json() }
}

async function pollRun(runId: string, done: (run: any) => boolean, timeoutMs = 15_000): Promise<any> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const { body } = await api('GET', `/v1/runs/${runId}`)
    if (done(body.run)) return body.run
    if (Date.now() > deadline) throw new Error(`run ${runId} is still ${body.run.status}`)
    await new Promise((wake) => setTimeout(wake, 50))
  }
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'gorkflow-e2e-'))
  port = await freePort()
  session = await start()
}, 90_000)

afterAll(async () => {
  await session?.stop()
  rmSync(dir, { recursive: true, force: true })
})

describe('npm run dev (wrangler dev + local libSQL)', () => {
  it('serves /health and refuses /v1 without the token', async () => {
    const health = await fetch(`${session!.url}/health`)
    expect(await health.json()).toEqual({ ok: true, store: 'libsql' })
    const refused = await fetch(`${session!.url}/v1/workflows`)
    expect(refused.status).toBe(401)
    const dashboard = await fetch(`${session!.url}/ui/sign-in`)
    expect(dashboard.status).toBe(200)
  })

  it('starts sequential asynchronously and completes it in its run\'s alarm, observed by polling', async () => {
    const started = await api('POST', '/v1/workflows/sequential/runs', { input: { val1: 7, val2: 3, mult: 5 } })
    expect(started.status).toBe(202)
    expect(started.body.run.status).toBe('PENDING')
    const run = await pollRun(started.body.run.runId, (r) => r.status === 'COMPLETED')
    expect(run.output).toEqual({ message: 'The final result is 50' })
    const { body } = await api('GET', `/v1/runs/${run.runId}/steps`)
    expect(body.steps.map((s: any) => [s.stepId, s.status])).toEqual([
      ['add', 'COMPLETED'],
      ['multiply', 'COMPLETED'],
      ['format', 'COMPLETED'],
    ])
  })

  it('runs every example within the request with ?wait=true', async () => {
    const cases: [string, unknown, string, unknown][] = [
      ['sequential', { val1: 1, val2: 2, mult: 3 }, 'COMPLETED', { message: 'The final result is 9' }],
      ['parallel', { val1: 3, val2: 4 }, 'COMPLETED', { message: 'sum=7 product=12' }],
      ['conditional', { value: 6, enableDoubling: true }, 'COMPLETED', { value: 12, doubled: true, message: 'Final value: 12' }],
      ['conditional', { value: 4, enableDoubling: false }, 'COMPLETED', { value: 4, doubled: false }],
      ['flaky', { failTimes: 2 }, 'COMPLETED', { attempts: 3 }],
      ['sleep', { ms: 20 }, 'COMPLETED', { sleptMs: 20 }],
    ]
    for (const [workflowId, input, status, output] of cases) {
      const { status: http, body } = await api('POST', `/v1/workflows/${workflowId}/runs?wait=true`, { input })
      expect(http, workflowId).toBe(200)
      expect(body.run).toMatchObject({ workflowId, status, output })
    }
    const failed = await api('POST', '/v1/workflows/flaky/runs?wait=true', { input: { failTimes: 9 } })
    expect(failed.body.run).toMatchObject({ status: 'FAILED', error: { step: 'attempt' } })
  })

  it('cancels a running sleep run, whose step stops at once', async () => {
    const started = await api('POST', '/v1/workflows/sleep/runs', { input: { ms: 120_000 } })
    const runId = started.body.run.runId
    await pollRun(runId, (r) => r.status === 'RUNNING')
    // Let the handler get into its sleep, so the cancel has a running step to stop.
    await new Promise((wake) => setTimeout(wake, 300))
    const cancelled = await api('POST', `/v1/runs/${runId}/cancel`)
    expect(cancelled.status).toBe(202)
    expect(cancelled.body.run.status).toBe('CANCELLED')
    const again = await api('POST', `/v1/runs/${runId}/cancel`)
    expect(again.status).toBe(409)
    const { body } = await api('GET', `/v1/runs/${runId}/steps`)
    expect(body.steps).toMatchObject([{ stepId: 'sleep', status: 'CANCELLED' }])
  })

  it('wakes a durable sleep above the inline limit from its alarm, the cron never fired', async () => {
    // sweepIntervalMs: 0, and no test before this one fires the cron.
    const started = await api('POST', '/v1/workflows/nap/runs', { input: { ms: 6_000 } })
    expect(started.status).toBe(202)
    const run = await pollRun(started.body.run.runId, (r) => r.status === 'COMPLETED', 30_000)
    expect(run.output).toEqual({ slept: true })
  })

  it('fires the cron trigger (the sweeper) on request', async () => {
    const res = await fetch(`${session!.url}/cdn-cgi/handler/scheduled?cron=${encodeURIComponent('* * * * *')}`)
    expect(res.status).toBe(200)
  })

  it('keeps runs in the database file across a restart, and stops everything it started', async () => {
    const { body } = await api('POST', '/v1/workflows/sequential/runs?wait=true', { input: { val1: 1, val2: 1, mult: 1 } })
    await session!.stop()
    await expect(fetch(`${session!.url}/health`)).rejects.toThrow()
    session = await start()
    const read = await api('GET', `/v1/runs/${body.run.runId}`)
    expect(read.body.run).toMatchObject({ status: 'COMPLETED', output: { message: 'The final result is 2' } })
  }, 60_000)
})
