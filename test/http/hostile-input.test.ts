/**
 * Hostile input found by testing the API (README, "Hostile input"): strings with lone surrogates, which stores
 * write as U+FFFD so distinct keys collided, error answers that echoed a huge request back, and the resource id
 * limit at its boundary. Over the embedded LibSQL file, where the collision happened, and the memory store.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { MAX_ERROR_ISSUE_TEXT, MAX_ERROR_ISSUES, MAX_ERROR_MESSAGE, MAX_RESOURCE_ID_LENGTH } from '../../src/http/limits'
import { MemoryStore } from '../../src/store/memory/memory-store'
import { fileStoreHarness } from '../support/libsql-harness'
import { type ApiHarness, createHarness } from './harness'

const START = '/v1/workflows/sequential/runs'
const OK_INPUT = { val1: 1, val2: 2, mult: 3 }
const HIGH = 'z\ud800K'
const LOW = 'z\udfffK'

const stores = [
  { name: 'LibSQL file', open: async () => fileStoreHarness() },
  { name: 'memory', open: async () => ({ store: new MemoryStore(), cleanup: async () => {} }) },
]

describe.each(stores)('hostile input over the $name store', ({ open }) => {
  let h: ApiHarness
  let cleanup: () => Promise<void>

  beforeAll(async () => {
    const opened = await open()
    cleanup = opened.cleanup
    h = createHarness(opened.store)
  })
  afterAll(async () => {
    await h.settle()
    await h.engine.shutdown()
    await cleanup()
  })

  async function runCount(): Promise<number> {
    await h.settle()
    return (await h.store.listRuns({ limit: 1000 })).runs.length
  }

  it.each([
    { field: 'an idempotency key', body: (s: string) => ({ input: OK_INPUT, idempotencyKey: s }), path: 'idempotencyKey' },
    { field: 'a resource id', body: (s: string) => ({ input: OK_INPUT, resourceId: s }), path: 'resourceId' },
    { field: 'a tag value', body: (s: string) => ({ input: OK_INPUT, tags: { team: s } }), path: 'tags.team' },
    { field: 'a tag key', body: (s: string) => ({ input: OK_INPUT, tags: { [s]: 'x' } }), path: 'tags' },
    { field: 'a string deep in the input', body: (s: string) => ({ input: { ...OK_INPUT, note: { list: ['ok', s] } } }), path: 'input.note.list.1' },
    { field: 'a key in the input', body: (s: string) => ({ input: { ...OK_INPUT, [s]: 1 } }), path: 'input' },
  ])('refuses $field with a lone surrogate, high or low, and stores nothing', async ({ body, path }) => {
    for (const s of [HIGH, LOW]) {
      const res = await h.call('POST', START, body(s))
      expect(res.status).toBe(400)
      const { error } = (await res.json()) as any
      expect(error.code).toBe('VALIDATION_ERROR')
      expect(error.message).toMatch(/lone UTF-16 surrogate/)
      expect(error.details.issues).toHaveLength(1)
      expect(error.details.issues[0].path.startsWith(path)).toBe(true)
    }
    expect(await runCount()).toBe(0)
  })

  it('keeps idempotency keys that differ only in a proper surrogate pair apart', async () => {
    const pair = 'z\ud83d\ude00K'
    const replaced = 'z\ufffdK'
    const first = await h.call('POST', START, { input: OK_INPUT, idempotencyKey: pair })
    const second = await h.call('POST', START, { input: OK_INPUT, idempotencyKey: replaced })
    expect([first.status, second.status]).toEqual([202, 202])
    const a = ((await first.json()) as any).run
    const b = ((await second.json()) as any).run
    expect(a.runId).not.toBe(b.runId)
    const again = await h.call('POST', START, { input: OK_INPUT, idempotencyKey: pair })
    expect(again.status).toBe(200)
    expect(((await again.json()) as any).run.runId).toBe(a.runId)
    expect(await runCount()).toBe(2)
  })

  it('refuses an event payload with a lone surrogate and delivers nothing', async () => {
    const started = await h.call('POST', '/v1/workflows/approval/runs', { input: { amount: 5 } })
    const { runId } = ((await started.json()) as any).run
    const res = await h.call('POST', `/v1/runs/${runId}/events/decision`, { payload: { approved: true, by: HIGH } })
    expect(res.status).toBe(400)
    expect(((await res.json()) as any).error.details.issues[0].path).toBe('payload.by')
    await expect(h.store.loadEvent(runId, 'decision')).rejects.toMatchObject({ code: 'EVENT_NOT_FOUND' })
  })

  it(`accepts a resource id of ${MAX_RESOURCE_ID_LENGTH} characters and refuses one more`, async () => {
    const before = await runCount()
    const longest = await h.call('POST', START, { input: OK_INPUT, resourceId: 'r'.repeat(MAX_RESOURCE_ID_LENGTH) })
    expect(longest.status).toBe(202)
    const over = await h.call('POST', START, { input: OK_INPUT, resourceId: 'r'.repeat(MAX_RESOURCE_ID_LENGTH + 1) })
    expect(over.status).toBe(400)
    expect(((await over.json()) as any).error.details.issues[0].path).toBe('resourceId')
    expect(await runCount()).toBe(before + 1)
  })
})

describe('error answers stay small', () => {
  let h: ApiHarness
  beforeAll(() => {
    h = createHarness(new MemoryStore())
  })
  afterAll(async () => {
    await h.close()
  })

  it('answers 40,000 unknown keys (an 869 KB body) in under 2 KB', async () => {
    const body: Record<string, unknown> = { input: OK_INPUT }
    for (let i = 0; i < 40_000; i++) body[`unknown_key_${i}`] = 1
    const sent = JSON.stringify(body)
    expect(sent.length).toBeGreaterThan(860_000)
    const res = await h.app.request(START, {
      method: 'POST',
      headers: { Authorization: 'Bearer test-token-0123456789', 'Content-Type': 'application/json' },
      body: sent,
    })
    const text = await res.text()
    expect(res.status).toBe(400)
    expect(text.length).toBeLessThan(2_000)
    const { error } = JSON.parse(text)
    expect(error.code).toBe('VALIDATION_ERROR')
    expect(error.message).toMatch(/^invalid request body: Unrecognized keys: "unknown_key_0"/)
    expect(error.message).toMatch(/… \(\d+ more characters\)$/)
    expect(error.message.length).toBeLessThan(MAX_ERROR_MESSAGE + 40)
    expect(error.details.issues).toHaveLength(1)
    expect(error.details.issues[0].message.length).toBeLessThan(MAX_ERROR_ISSUE_TEXT + 40)
  })

  it(`lists at most ${MAX_ERROR_ISSUES} issues and counts the rest`, async () => {
    const tags = Object.fromEntries(Array.from({ length: 45 }, (_, i) => [`k${i}`, 'v'.repeat(501)]))
    const res = await h.call('POST', START, { input: OK_INPUT, tags })
    expect(res.status).toBe(400)
    const { error } = (await res.json()) as any
    expect(error.details.issues).toHaveLength(MAX_ERROR_ISSUES)
    expect(error.details.issues[0].path).toBe('tags.k0')
    expect(error.details.omittedIssues).toBe(45 - MAX_ERROR_ISSUES)
  })

  it('cuts a long issue path without splitting a surrogate pair', async () => {
    // `tags.` + key puts the pair's high half at the last position the cut keeps.
    const key = `${'k'.repeat(MAX_ERROR_ISSUE_TEXT - 6)}\ud83d\ude00`
    const res = await h.call('POST', START, { input: OK_INPUT, tags: { [key]: 'x' } })
    expect(res.status).toBe(400)
    const text = await res.text()
    const { error } = JSON.parse(text)
    expect(error.details.issues[0].path).toBe(`tags.${'k'.repeat(MAX_ERROR_ISSUE_TEXT - 6)}… (2 more characters)`)
    expect(text).not.toMatch(/\\ud83d(?!\\ude00)/i)
  })
})
