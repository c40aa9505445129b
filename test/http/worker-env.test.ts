/**
 * The Worker entry's knobs, run in Node with STORE=memory (the Worker inside workerd is test/workerd's):
 * RETENTION_DAYS reaches the engine, so the cron sweeper deletes old finished runs, and a bad value is a
 * clear 503 MISCONFIGURED rather than a silent default.
 */
import { describe, expect, it } from 'vitest'
import { readRetentionMs } from '../../src/runtime/env-config'
import { createWorker, type WorkerEnv } from '../../src/runtime/create-worker'
import { exampleWorkflows } from '../../src/workflows'

const TOKEN = 'worker-env-token'

function executionContext() {
  const pending: Promise<unknown>[] = []
  return {
    ctx: { waitUntil: (p: Promise<unknown>) => void pending.push(p), passThroughOnException: () => {}, props: {} },
    settle: async () => {
      while (pending.length > 0) await Promise.allSettled(pending.splice(0))
    },
  }
}

function request(method: string, path: string, body?: unknown): Request {
  return new Request(`http://worker.test${path}`, {
    method,
    headers: { Authorization: `Bearer ${TOKEN}`, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  })
}

describe('the Worker entry and RETENTION_DAYS', () => {
  it('turns days into retentionMs, and unset into keep-forever', () => {
    expect(readRetentionMs({})).toBeUndefined()
    expect(readRetentionMs({ RETENTION_DAYS: ' ' })).toBeUndefined()
    expect(readRetentionMs({ RETENTION_DAYS: '0' })).toBe(0)
    expect(readRetentionMs({ RETENTION_DAYS: '90' })).toBe(90 * 86_400_000)
    expect(() => readRetentionMs({ RETENTION_DAYS: '200000000' })).toThrow('RETENTION_DAYS is too large')
  })

  it.each(['a week', '-3', '2.5'])('answers 503 MISCONFIGURED naming RETENTION_DAYS=%s, on the API and the sweeper', async (raw) => {
    const worker = createWorker<WorkerEnv>({ workflows: exampleWorkflows })
    const env = { STORE: 'memory', API_TOKEN: TOKEN, RETENTION_DAYS: raw, LOG_LEVEL: 'error' }
    const { ctx, settle } = executionContext()
    const errors: string[] = []
    const original = console.error
    console.error = (line: string) => void errors.push(line)
    try {
      const res = await worker.fetch(request('GET', '/v1/workflows'), env, ctx as never)
      expect(res.status).toBe(503)
      const { error } = (await res.json()) as any
      expect(error).toEqual({ code: 'MISCONFIGURED', message: `RETENTION_DAYS must be a non-negative integer, got ${JSON.stringify(raw)}` })
      await worker.scheduled(undefined, env, ctx as never)
      await settle()
    } finally {
      console.error = original
    }
    expect(errors.some((line) => line.includes('sweep_failed') && line.includes('RETENTION_DAYS'))).toBe(true)
  })

  it('lets the cron sweeper delete finished runs older than RETENTION_DAYS, and keeps them when unset', async () => {
    for (const [retention, kept] of [[undefined, true], ['0', false]] as const) {
      const worker = createWorker<WorkerEnv>({ workflows: exampleWorkflows })
      const env: WorkerEnv = { STORE: 'memory', API_TOKEN: TOKEN, LOG_LEVEL: 'silent', ...(retention ? { RETENTION_DAYS: retention } : {}) }
      const { ctx, settle } = executionContext()
      const started = await worker.fetch(request('POST', '/v1/workflows/sequential/runs?wait=true', { input: { val1: 1, val2: 1, mult: 1 } }), env, ctx as never)
      const { run } = (await started.json()) as any
      expect(run.status).toBe('COMPLETED')
      await new Promise((resolve) => setTimeout(resolve, 5)) // "older than 0 days": strictly before now
      await worker.scheduled(undefined, env, ctx as never)
      await settle()
      const read = await worker.fetch(request('GET', `/v1/runs/${run.runId}`), env, ctx as never)
      expect(read.status, `RETENTION_DAYS=${retention}`).toBe(kept ? 200 : 404)
    }
  })
})

describe('the Worker entry and its settings (src/runtime/env-keys.ts)', () => {
  it('rebuilds its runtime when a setting changes: a rotated API_TOKEN takes effect at the next request', async () => {
    const worker = createWorker<WorkerEnv>({ workflows: exampleWorkflows })
    const { ctx } = executionContext()
    const list = (token: string, env: WorkerEnv) =>
      worker.fetch(new Request('http://worker.test/v1/workflows', { headers: { Authorization: `Bearer ${token}` } }), env, ctx as never)
    const before: WorkerEnv = { STORE: 'memory', API_TOKEN: 'old-token', LOG_LEVEL: 'silent' }
    expect((await list('old-token', before)).status).toBe(200)
    const after: WorkerEnv = { ...before, API_TOKEN: 'new-token' }
    expect((await list('old-token', after)).status).toBe(401)
    expect((await list('new-token', after)).status).toBe(200)
    // Bindings outside the list (those reach steps through deps) do not rebuild it.
    expect((await list('new-token', { ...after, PAYMENTS_KEY: 'x' } as WorkerEnv)).status).toBe(200)
  })

  it('reads the database only as TURSO_DATABASE_URL: DATABASE_URL (an older Node name) answers 503 naming it', async () => {
    const worker = createWorker<WorkerEnv>({ workflows: exampleWorkflows })
    const { ctx } = executionContext()
    const env = { STORE: 'libsql', API_TOKEN: TOKEN, LOG_LEVEL: 'silent', DATABASE_URL: 'http://127.0.0.1:1' }
    const res = await worker.fetch(request('GET', '/v1/workflows'), env, ctx as never)
    expect(res.status).toBe(503)
    const { error } = (await res.json()) as any
    expect(error.code).toBe('MISCONFIGURED')
    expect(error.message).toMatch(/^TURSO_DATABASE_URL is not set/)
  })

  it('logs a failed start through its logger: one startup_failed line at LOG_LEVEL=error, none at silent', async () => {
    const errors: string[] = []
    const original = console.error
    console.error = (line: string) => void errors.push(line)
    try {
      for (const level of ['silent', 'error']) {
        const worker = createWorker<WorkerEnv>({ workflows: exampleWorkflows })
        const { ctx } = executionContext()
        const res = await worker.fetch(request('GET', '/v1/workflows'), { STORE: 'memory', LEASE_MS: 'soon', LOG_LEVEL: level }, ctx as never)
        expect(res.status).toBe(503)
      }
    } finally {
      console.error = original
    }
    expect(errors.map((line) => JSON.parse(line))).toEqual([
      {
        level: 'error',
        event: 'startup_failed',
        time: expect.any(String),
        error: 'ConfigurationError: LEASE_MS must be a non-negative integer, got "soon"',
        stack: null,
      },
    ])
  })
})
