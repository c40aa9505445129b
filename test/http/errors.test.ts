/** Errors become responses in one place: library codes by table, anything else a logged, generic 500. */
import { describe, expect, it } from 'vitest'
import { ERROR_CODES, GorkflowError, StoreUnavailableError } from '../../src/core/errors'
import { STATUS_BY_CODE, type UnhandledErrorReport } from '../../src/http/errors'
import { MemoryStore } from '../../src/store/memory/memory-store'
import type { WorkflowStore } from '../../src/core/store'
import { createHarness } from './harness'

/** A memory store whose `getRun` throws `error`. */
function failingStore(error: unknown): WorkflowStore {
  const store = new MemoryStore()
  return new Proxy(store, {
    get(target, key, receiver) {
      if (key === 'getRun') return async () => Promise.reject(error)
      const value = Reflect.get(target, key, receiver)
      return typeof value === 'function' ? value.bind(target) : value
    },
  })
}

describe('error mapping', () => {
  it('has a 4xx or 5xx status for every library error code', () => {
    for (const code of ERROR_CODES) {
      expect(STATUS_BY_CODE[code], code).toBeGreaterThanOrEqual(400)
      expect(STATUS_BY_CODE[code], code).toBeLessThan(600)
    }
  })

  it('answers 500 INTERNAL_ERROR with a generic message for an unexpected error, and logs it', async () => {
    const logged: UnhandledErrorReport[] = []
    const h = createHarness(failingStore(new TypeError('secret detail at db.ts:12')), {
      logError: (entry) => logged.push(entry),
    })
    const res = await h.call('GET', '/v1/runs/r1')
    expect(res.status).toBe(500)
    const text = await res.text()
    expect(JSON.parse(text)).toEqual({ error: { code: 'INTERNAL_ERROR', message: 'internal error' } })
    expect(text).not.toContain('secret')
    expect(logged).toHaveLength(1)
    expect(logged[0]).toMatchObject({ event: 'http_unhandled_error', method: 'GET', route: '/v1/runs/:runId' })
    await h.close()
  })

  it('answers 503 STORE_UNAVAILABLE when the store is down, without details', async () => {
    const logged: UnhandledErrorReport[] = []
    const h = createHarness(failingStore(new StoreUnavailableError('libsql unreachable')), {
      logError: (entry) => logged.push(entry),
    })
    const res = await h.call('GET', '/v1/runs/r1')
    expect(res.status).toBe(503)
    expect(await res.json()).toEqual({ error: { code: 'STORE_UNAVAILABLE', message: 'libsql unreachable' } })
    expect(logged).toHaveLength(0)
    await h.close()
  })

  it('hides the message of a library error that maps to 500', async () => {
    const logged: UnhandledErrorReport[] = []
    const h = createHarness(failingStore(new GorkflowError('INTERNAL_ERROR', 'row 17 of workflow_runs is corrupt')), {
      logError: (entry) => logged.push(entry),
    })
    const res = await h.call('GET', '/v1/runs/r1')
    expect(res.status).toBe(500)
    expect(await res.json()).toEqual({ error: { code: 'INTERNAL_ERROR', message: 'internal error' } })
    expect(logged).toHaveLength(1)
    await h.close()
  })
})
