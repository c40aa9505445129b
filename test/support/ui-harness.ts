/**
 * @module
 * The dashboard mounted at /ui of a bare Hono app over a MemoryStore engine, with helpers to sign in and to
 * send forms the way a browser does (url-encoded, with the session cookie).
 */
import { Hono } from 'hono'
import { Engine, type EngineOptions } from '../../src/core/engine'
import type { AnyWorkflow } from '../../src/core/workflow'
import { createUiApp, SESSION_COOKIE, type UiAppOptions } from '../../src/http/ui/ui-app'
import { MemoryStore } from '../../src/store/memory/memory-store'

export const TEST_TOKEN = 'test-token-0123456789'

export interface UiHarness {
  readonly app: Hono
  readonly engine: Engine
  /** Signs in with `token` and returns the cookie header to send and the CSRF token of the session. */
  signIn(token?: string): Promise<{ cookie: string; csrf: string }>
  get(path: string, cookie?: string, host?: string): Promise<Response>
  post(path: string, form: Record<string, string>, cookie?: string, host?: string): Promise<Response>
}

export function createUiHarness(
  workflows: readonly AnyWorkflow[],
  options: Partial<Omit<UiAppOptions, 'engine'>> = {},
  engineOptions: Partial<EngineOptions> = {},
): UiHarness {
  const engine = new Engine({ store: new MemoryStore(), workflows, ...engineOptions })
  const app = new Hono().route('/ui', createUiApp({ engine, apiTokens: [TEST_TOKEN], logError: () => {}, ...options }))
  const url = (path: string, host = 'localhost') => `http://${host}${path}`
  const get = async (path: string, cookie?: string, host?: string) =>
    app.request(url(path, host), { headers: cookie ? { cookie } : {} })
  const post = async (path: string, form: Record<string, string>, cookie?: string, host?: string) =>
    app.request(url(path, host), {
      method: 'POST',
      body: new URLSearchParams(form),
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...(cookie ? { cookie } : {}) },
    })
  return {
    app,
    engine,
    get,
    post,
    async signIn(token = TEST_TOKEN) {
      const res = await post('/ui/sign-in', { token, next: '/ui/runs' })
      const cookie = cookieFrom(res)
      if (!cookie) throw new Error(`sign-in failed with ${res.status}`)
      const page = await (await get('/ui/runs', cookie)).text()
      return { cookie, csrf: csrfFrom(page) }
    },
  }
}

/** `name=value` of the session cookie a response sets, or null. */
export function cookieFrom(res: Response): string | null {
  const header = res.headers.getSetCookie().find((c) => c.startsWith(`${SESSION_COOKIE}=`))
  return header ? (header.split(';')[0] as string) : null
}

/** The CSRF token of the first form on a page. */
export function csrfFrom(page: string): string {
  const match = /name="_csrf" value="([^"]+)"/.exec(page)
  if (!match) throw new Error('no CSRF field on the page')
  return match[1] as string
}

/** Waits until `check` returns a value (not undefined), polling every 5 ms, or fails after `timeoutMs`. */
export async function eventually<T>(check: () => Promise<T | undefined>, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await check()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error('condition not met in time')
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}
