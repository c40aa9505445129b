/**
 * Every `/v1` route requires a bearer token: table-driven over the routes the OpenAPI document lists, so a
 * route added later is covered without touching this file.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { MemoryStore } from '../../src/store/memory/memory-store'
import { parseApiTokens } from '../../src/http/auth'
import { type ApiHarness, createHarness, OTHER_TOKEN, TOKEN } from './harness'

let h: ApiHarness
let routes: { method: string; path: string }[]

beforeAll(async () => {
  h = createHarness(new MemoryStore())
  const doc: any = await (await h.call('GET', '/v1/openapi.json')).json()
  routes = Object.entries(doc.paths as Record<string, Record<string, unknown>>)
    .flatMap(([path, operations]) => Object.keys(operations).map((method) => ({ method: method.toUpperCase(), path })))
    .filter((route) => route.path.startsWith('/v1/'))
    .map((route) => ({ ...route, path: route.path.replace(/\{[^}]+\}/g, 'x') }))
  routes.push({ method: 'GET', path: '/v1/openapi.json' })
})
afterAll(async () => {
  await h.close()
})

function request(route: { method: string; path: string }, authorization?: string, app = h.app) {
  const headers: Record<string, string> = { 'Content-Type': 'application/json' }
  if (authorization !== undefined) headers.Authorization = authorization
  const body = route.method === 'POST' ? JSON.stringify({ input: { val1: 1, val2: 2, mult: 3 } }) : undefined
  return app.request(route.path, { method: route.method, headers, ...(body ? { body } : {}) })
}

const REFUSED: [string, string | undefined][] = [
  ['no Authorization header', undefined],
  ['an empty header', ''],
  ['a wrong token', 'Bearer wrong-token'],
  ['a token with one character changed', `Bearer ${TOKEN.slice(0, -1)}X`],
  ['a prefix of the token', `Bearer ${TOKEN.slice(0, 8)}`],
  ['the token followed by more', `Bearer ${TOKEN}x`],
  ['another scheme', `Basic ${TOKEN}`],
  ['the token without a scheme', TOKEN],
  ['two tokens in one header', `Bearer ${TOKEN} ${OTHER_TOKEN}`],
]

describe('bearer authentication', () => {
  it('covers every /v1 route of the OpenAPI document', () => {
    expect(routes.length).toBeGreaterThanOrEqual(10)
  })

  describe.each(REFUSED)('with %s', (_name, authorization) => {
    it('answers 401 UNAUTHORIZED with a Bearer challenge on every /v1 route', async () => {
      for (const route of routes) {
        const res = await request(route, authorization)
        expect(res.status, `${route.method} ${route.path}`).toBe(401)
        expect(res.headers.get('WWW-Authenticate')).toMatch(/^Bearer/)
        expect(((await res.json()) as any).error.code).toBe('UNAUTHORIZED')
      }
      expect((await h.store.listRuns()).runs).toHaveLength(0)
    })
  })

  it('accepts every configured token (rotation) on every /v1 route', async () => {
    for (const token of [TOKEN, OTHER_TOKEN]) {
      for (const route of routes) {
        const res = await request(route, `Bearer ${token}`)
        expect(res.status, `${route.method} ${route.path}`).not.toBe(401)
        expect(res.status).toBeLessThan(500)
      }
    }
  })

  it('accepts a lower-case scheme', async () => {
    const res = await request({ method: 'GET', path: '/v1/workflows' }, `bearer ${TOKEN}`)
    expect(res.status).toBe(200)
  })

  it('refuses every /v1 route and explains how to set API_TOKEN when no token is configured', async () => {
    const closed = createHarness(new MemoryStore(), { apiTokens: parseApiTokens(' , ') })
    try {
      for (const route of routes) {
        const res = await request(route, `Bearer ${TOKEN}`, closed.app)
        expect(res.status, `${route.method} ${route.path}`).toBe(401)
        const { error } = (await res.json()) as any
        expect(error.code).toBe('UNAUTHORIZED')
        expect(error.message).toContain('API_TOKEN')
        expect(error.message).toContain('wrangler secret put API_TOKEN')
      }
    } finally {
      await closed.close()
    }
  })

  it('keeps /health open', async () => {
    expect((await h.app.request('/health')).status).toBe(200)
  })

  it('answers 401 before revealing whether a /v1 path exists', async () => {
    const res = await h.app.request('/v1/does-not-exist')
    expect(res.status).toBe(401)
  })
})

describe('parseApiTokens', () => {
  it('splits on commas and drops blanks and whitespace', () => {
    expect(parseApiTokens(' a ,b,, c ')).toEqual(['a', 'b', 'c'])
    expect(parseApiTokens(undefined)).toEqual([])
    expect(parseApiTokens('')).toEqual([])
  })
})
