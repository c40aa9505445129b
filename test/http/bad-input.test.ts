/**
 * Malformed and hostile requests: each gets the documented 4xx with the error shape, never a 500 or a stack
 * trace, and none of them writes anything.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { MemoryStore } from '../../src/store/memory/memory-store'
import { type ApiHarness, createHarness, TOKEN } from './harness'

interface Case {
  readonly name: string
  readonly method?: string
  readonly path: string
  /** A string is sent as is; anything else as JSON. */
  readonly body?: unknown
  readonly headers?: Record<string, string>
  readonly status: number
  readonly code: string
}

const START = '/v1/workflows/sequential/runs'
const OK_INPUT = { val1: 1, val2: 2, mult: 3 }
const MIB = 1024 * 1024
const SQLISH = "x' OR '1'='1'; DROP TABLE workflow_runs; --"

const CASES: Case[] = [
  { name: 'malformed JSON', method: 'POST', path: START, body: '{"input": {', status: 400, code: 'INVALID_JSON' },
  { name: 'an empty JSON body', method: 'POST', path: START, body: '', status: 400, code: 'INVALID_JSON' },
  { name: 'a JSON array body', method: 'POST', path: START, body: [OK_INPUT], status: 400, code: 'VALIDATION_ERROR' },
  { name: 'a JSON null body', method: 'POST', path: START, body: 'null', status: 400, code: 'VALIDATION_ERROR' },
  { name: 'a JSON string body', method: 'POST', path: START, body: '"hello"', status: 400, code: 'VALIDATION_ERROR' },
  { name: 'a body without input', method: 'POST', path: START, body: {}, status: 400, code: 'VALIDATION_ERROR' },
  { name: 'an unknown body field', method: 'POST', path: START, body: { input: OK_INPUT, inptu: 1 }, status: 400, code: 'VALIDATION_ERROR' },
  { name: 'input of the wrong type', method: 'POST', path: START, body: { input: 'one two three' }, status: 400, code: 'VALIDATION_ERROR' },
  { name: 'input fields of the wrong type', method: 'POST', path: START, body: { input: { val1: '1', val2: 2, mult: 3 } }, status: 400, code: 'VALIDATION_ERROR' },
  { name: 'a fractional integer', method: 'POST', path: START, body: { input: { val1: 1.5, val2: 2, mult: 3 } }, status: 400, code: 'VALIDATION_ERROR' },
  { name: 'a missing input field', method: 'POST', path: START, body: { input: { val1: 1, val2: 2 } }, status: 400, code: 'VALIDATION_ERROR' },
  { name: 'flaky failTimes over 10', method: 'POST', path: '/v1/workflows/flaky/runs', body: { input: { failTimes: 11 } }, status: 400, code: 'VALIDATION_ERROR' },
  { name: 'sleep ms over the limit', method: 'POST', path: '/v1/workflows/sleep/runs', body: { input: { ms: 1e9 } }, status: 400, code: 'VALIDATION_ERROR' },
  { name: 'a numeric resourceId', method: 'POST', path: START, body: { input: OK_INPUT, resourceId: 7 }, status: 400, code: 'VALIDATION_ERROR' },
  { name: 'an empty resourceId', method: 'POST', path: START, body: { input: OK_INPUT, resourceId: '' }, status: 400, code: 'VALIDATION_ERROR' },
  { name: 'non-string tag values', method: 'POST', path: START, body: { input: OK_INPUT, tags: { a: 1 } }, status: 400, code: 'VALIDATION_ERROR' },
  { name: 'tags as an array', method: 'POST', path: START, body: { input: OK_INPUT, tags: ['a'] }, status: 400, code: 'VALIDATION_ERROR' },
  { name: 'an idempotency key over 255 characters', method: 'POST', path: START, body: { input: OK_INPUT, idempotencyKey: 'k'.repeat(256) }, status: 400, code: 'VALIDATION_ERROR' },
  { name: 'a bad wait flag', method: 'POST', path: `${START}?wait=yes`, body: { input: OK_INPUT }, status: 400, code: 'VALIDATION_ERROR' },
  { name: 'a text/plain body', method: 'POST', path: START, body: JSON.stringify({ input: OK_INPUT }), headers: { 'Content-Type': 'text/plain' }, status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
  { name: 'a form body', method: 'POST', path: START, body: 'input=1', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
  { name: 'a body over 1 MiB', method: 'POST', path: START, body: { input: { ...OK_INPUT, pad: 'x'.repeat(MIB) } }, status: 413, code: 'PAYLOAD_TOO_LARGE' },
  { name: 'an unknown workflow', method: 'POST', path: '/v1/workflows/nope/runs', body: { input: OK_INPUT }, status: 404, code: 'WORKFLOW_NOT_FOUND' },
  { name: 'a SQL-looking workflow id', method: 'POST', path: `/v1/workflows/${encodeURIComponent(SQLISH)}/runs`, body: { input: OK_INPUT }, status: 404, code: 'WORKFLOW_NOT_FOUND' },
  { name: 'a workflow id over 200 characters', method: 'POST', path: `/v1/workflows/${'w'.repeat(201)}/runs`, body: { input: OK_INPUT }, status: 400, code: 'VALIDATION_ERROR' },
  { name: 'a SQL-looking run id', path: `/v1/runs/${encodeURIComponent(SQLISH)}`, status: 404, code: 'RUN_NOT_FOUND' },
  { name: 'a SQL-looking run id on cancel', method: 'POST', path: `/v1/runs/${encodeURIComponent(SQLISH)}/cancel`, status: 404, code: 'RUN_NOT_FOUND' },
  { name: 'a SQL-looking step id', path: `/v1/runs/r1/steps/${encodeURIComponent(SQLISH)}/output`, status: 404, code: 'STEP_OUTPUT_NOT_FOUND' },
  { name: 'an unknown run', path: '/v1/runs/00000000-0000-0000-0000-000000000000', status: 404, code: 'RUN_NOT_FOUND' },
  { name: 'an unknown run state', path: '/v1/runs/missing/state', status: 404, code: 'RUN_NOT_FOUND' },
  { name: 'an unknown status filter', path: '/v1/runs?status=DONE', status: 400, code: 'VALIDATION_ERROR' },
  { name: 'a lower-case status filter', path: '/v1/runs?status=completed', status: 400, code: 'VALIDATION_ERROR' },
  { name: 'a SQL-looking status filter', path: `/v1/runs?status=${encodeURIComponent(SQLISH)}`, status: 400, code: 'VALIDATION_ERROR' },
  { name: 'a repeated status filter', path: '/v1/runs?status=FAILED&status=COMPLETED', status: 400, code: 'VALIDATION_ERROR' },
  { name: 'limit 0', path: '/v1/runs?limit=0', status: 400, code: 'VALIDATION_ERROR' },
  { name: 'limit 101', path: '/v1/runs?limit=101', status: 400, code: 'VALIDATION_ERROR' },
  { name: 'a negative limit', path: '/v1/runs?limit=-1', status: 400, code: 'VALIDATION_ERROR' },
  { name: 'a fractional limit', path: '/v1/runs?limit=2.5', status: 400, code: 'VALIDATION_ERROR' },
  { name: 'a non-numeric limit', path: '/v1/runs?limit=ten', status: 400, code: 'VALIDATION_ERROR' },
  { name: 'a garbage cursor', path: '/v1/runs?cursor=not-a-cursor', status: 400, code: 'INVALID_CURSOR' },
  { name: 'a SQL-looking cursor', path: `/v1/runs?cursor=${encodeURIComponent(SQLISH)}`, status: 400, code: 'INVALID_CURSOR' },
  { name: 'a base64 cursor of the wrong shape', path: `/v1/runs?cursor=${btoa('{"a":1}')}`, status: 400, code: 'INVALID_CURSOR' },
  { name: 'a huge cursor', path: `/v1/runs?cursor=${'A'.repeat(5000)}`, status: 400, code: 'VALIDATION_ERROR' },
  { name: 'an unknown path', path: '/v1/nothing/here', status: 404, code: 'NOT_FOUND' },
  { name: 'a path outside /v1', path: '/admin', status: 404, code: 'NOT_FOUND' },
  { name: 'DELETE on a run', method: 'DELETE', path: '/v1/runs/r1', status: 405, code: 'METHOD_NOT_ALLOWED' },
  { name: 'PUT on the start route', method: 'PUT', path: START, body: { input: OK_INPUT }, status: 405, code: 'METHOD_NOT_ALLOWED' },
  { name: 'GET on cancel', path: '/v1/runs/r1/cancel', status: 405, code: 'METHOD_NOT_ALLOWED' },
  { name: 'POST on the workflow list', method: 'POST', path: '/v1/workflows', body: {}, status: 405, code: 'METHOD_NOT_ALLOWED' },
  { name: 'POST on /health', method: 'POST', path: '/health', status: 405, code: 'METHOD_NOT_ALLOWED' },
]

let h: ApiHarness

beforeAll(() => {
  h = createHarness(new MemoryStore())
})
afterAll(async () => {
  await h.close()
})

function send(c: Case): Promise<Response> {
  const headers: Record<string, string> = { Authorization: `Bearer ${TOKEN}` }
  let body: string | undefined
  if (c.body !== undefined) {
    body = typeof c.body === 'string' ? c.body : JSON.stringify(c.body)
    headers['Content-Type'] = 'application/json'
  }
  Object.assign(headers, c.headers)
  return Promise.resolve(h.app.request(c.path, { method: c.method ?? 'GET', headers, ...(body === undefined ? {} : { body }) }))
}

describe('bad input', () => {
  it.each(CASES)('answers $status $code for $name, and writes nothing', async (c) => {
    const res = await send(c)
    const text = await res.text()
    expect(res.status, text).toBe(c.status)
    expect(res.headers.get('Content-Type')).toMatch(/^application\/json/)
    const body = JSON.parse(text)
    expect(body.error.code).toBe(c.code)
    expect(typeof body.error.message).toBe('string')
    expect(text).not.toMatch(/\bat .+:\d+:\d+|stack/i)
    await h.settle()
    expect((await h.store.listRuns()).runs).toHaveLength(0)
  })

  it('lists the schema issues of an invalid input in details', async () => {
    const res = await send({ name: '', method: 'POST', path: START, body: { input: { val1: 'a' } }, status: 400, code: '' })
    const { error } = (await res.json()) as any
    expect(error.details.issues).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ path: 'val1' }),
        expect.objectContaining({ path: 'val2' }),
        expect.objectContaining({ path: 'mult' }),
      ]),
    )
  })

  it('sends an Allow header with 405', async () => {
    const res = await send({ name: '', method: 'DELETE', path: '/v1/runs/r1', status: 405, code: '' })
    expect(res.headers.get('Allow')).toBe('GET, HEAD')
  })

  it('refuses a streamed body over the limit that declares no length', async () => {
    const chunk = new TextEncoder().encode('x'.repeat(64 * 1024))
    let sent = 0
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent >= 2 * MIB) return controller.close()
        sent += chunk.length
        controller.enqueue(chunk)
      },
    })
    const res = await h.app.request(START, {
      method: 'POST',
      headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' },
      body: stream,
      duplex: 'half',
    } as RequestInit)
    expect(res.status).toBe(413)
    expect(((await res.json()) as any).error.code).toBe('PAYLOAD_TOO_LARGE')
    expect((await h.store.listRuns()).runs).toHaveLength(0)
  })

  it('honours a smaller configured body limit', async () => {
    const small = createHarness(new MemoryStore(), { maxBodyBytes: 64 })
    try {
      const res = await small.call('POST', START, { input: { ...OK_INPUT, pad: 'x'.repeat(100) } })
      expect(res.status).toBe(413)
      const ok = await small.call('POST', START, { input: OK_INPUT })
      expect(ok.status).toBe(202)
    } finally {
      await small.close()
    }
  })
})
