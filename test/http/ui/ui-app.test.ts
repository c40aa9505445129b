import { gzipSync } from 'node:zlib'
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { Engine } from '../../../src/core/engine'
import { NonRetryableError } from '../../../src/core/errors'
import { defineStep } from '../../../src/core/step'
import { workflow } from '../../../src/core/workflow'
import { cookieFrom, createUiHarness, eventually, TEST_TOKEN } from '../../support/ui-harness'
import { parallelWorkflow, sleepWorkflow } from '../../../src/workflows'
import { chainWorkflow } from '../../support/ui-workflows'

const failing = workflow({ id: 'failing' })
  .then(defineStep({ id: 'prepare', handler: () => ({ ok: true }) }))
  .then(
    defineStep({
      id: 'charge',
      handler: (): { charged: boolean } => {
        throw new NonRetryableError('card declined')
      },
    }),
  )
  .build()

const conditional = workflow<{ value: number }>({ id: 'conditional' })
  .then(defineStep({ id: 'load', handler: (_ctx, input: { value: number }) => input }))
  .thenIf(
    defineStep({ id: 'double', handler: (_ctx, { value }: { value: number }) => ({ value: value * 2 }) }),
    (_ctx, { value }) => value > 10,
  )
  .build()

const flaky = workflow({ id: 'flaky' })
  .then(
    defineStep({
      id: 'attempt',
      maxRetries: 3,
      retryDelayMs: 0,
      handler: (ctx) => {
        if (ctx.attempt < 2) throw new Error(`attempt ${ctx.attempt} failed`)
        return { attempts: ctx.attempt + 1 }
      },
    }),
  )
  .build()

const WORKFLOWS = [parallelWorkflow, sleepWorkflow, failing, conditional, flaky]

describe('dashboard authentication', () => {
  it('redirects a signed-out request for a page to sign-in, remembering where it was going', async () => {
    const h = createUiHarness(WORKFLOWS)
    for (const path of ['/ui/runs', '/ui/workflows', '/ui/runs/x?notice=cancelled', '/ui']) {
      const res = await h.get(path)
      expect(res.status, path).toBe(303)
      const location = new URL(res.headers.get('location') ?? '', 'http://localhost')
      expect(location.pathname).toBe('/ui/sign-in')
      expect(location.searchParams.get('next')).toBe(path)
    }
  })

  it('refuses a signed-out POST without doing anything', async () => {
    const h = createUiHarness(WORKFLOWS)
    const { run } = await h.engine.start('sleep', { ms: 60_000 })
    const res = await h.post(`/ui/runs/${run.runId}/cancel`, {})
    expect(res.status).toBe(303)
    expect(res.headers.get('location')).toBe('/ui/sign-in')
    expect((await h.engine.getRun(run.runId)).status).toBe('PENDING')
  })

  it('signs in with a configured token: HttpOnly, SameSite=Strict, not Secure on localhost, no token inside', async () => {
    const h = createUiHarness(WORKFLOWS)
    const res = await h.post('/ui/sign-in', { token: TEST_TOKEN, next: '/ui/workflows' })
    expect(res.status).toBe(303)
    expect(res.headers.get('location')).toBe('/ui/workflows')
    const header = res.headers.getSetCookie()[0] ?? ''
    expect(header).toMatch(/HttpOnly/)
    expect(header).toMatch(/SameSite=Strict/)
    expect(header).toMatch(/Path=\/ui/)
    expect(header).not.toMatch(/Secure/)
    expect(header).not.toContain(TEST_TOKEN)
    expect((await h.get('/ui/workflows', cookieFrom(res) ?? '')).status).toBe(200)
  })

  it('marks the cookie Secure on any other host', async () => {
    const h = createUiHarness(WORKFLOWS)
    const res = await h.post('/ui/sign-in', { token: TEST_TOKEN }, undefined, 'gorkflow.example.com')
    expect(res.headers.getSetCookie()[0]).toMatch(/; Secure/)
  })

  it('refuses a wrong token with a message and no cookie', async () => {
    const h = createUiHarness(WORKFLOWS)
    const res = await h.post('/ui/sign-in', { token: 'nope' })
    expect(res.status).toBe(401)
    expect(res.headers.getSetCookie()).toEqual([])
    const page = await res.text()
    expect(page).toContain('That token is not accepted.')
    expect(page).toContain('aria-invalid="true"')
  })

  it('explains how to set API_TOKEN when no token is configured, and lets nobody in', async () => {
    const h = createUiHarness(WORKFLOWS, { apiTokens: [] })
    const page = await h.get('/ui/sign-in')
    expect(page.status).toBe(503)
    const text = await page.text()
    expect(text).toContain('No API token is configured')
    expect(text).toContain('wrangler secret put API_TOKEN')
    expect(text).not.toContain('name="token"')
    const res = await h.post('/ui/sign-in', { token: '' })
    expect(res.headers.getSetCookie()).toEqual([])
  })

  it('only redirects to dashboard paths after sign-in', async () => {
    const h = createUiHarness(WORKFLOWS)
    for (const next of ['//evil.example/ui/', 'https://evil.example/', '/other', '/ui/sign-out', '/ui\\evil']) {
      const res = await h.post('/ui/sign-in', { token: TEST_TOKEN, next })
      expect(res.headers.get('location'), next).toBe('/ui/runs')
    }
  })

  it('treats a tampered or expired cookie as signed out and says the session ended', async () => {
    let now = Date.now()
    const h = createUiHarness(WORKFLOWS, { now: () => now, sessionTtlMs: 60_000 })
    const { cookie } = await h.signIn()
    const tampered = cookie.replace(/\.([^.])([^.]*)$/, (_m, first: string, rest: string) => `.${first === 'A' ? 'B' : 'A'}${rest}`)
    expect((await h.get('/ui/runs', tampered)).status).toBe(303)
    now += 60_000
    const res = await h.get('/ui/runs', cookie)
    expect(res.status).toBe(303)
    expect(res.headers.get('location')).toBe('/ui/sign-in?next=%2Fui%2Fruns&notice=expired')
    expect(res.headers.getSetCookie()[0]).toMatch(/Max-Age=0/)
  })

  it('signs out only with the CSRF token, then refuses the pages', async () => {
    const h = createUiHarness(WORKFLOWS)
    const { cookie, csrf } = await h.signIn()
    expect((await h.post('/ui/sign-out', {}, cookie)).status).toBe(403)
    const res = await h.post('/ui/sign-out', { _csrf: csrf }, cookie)
    expect(res.status).toBe(303)
    expect(res.headers.get('location')).toBe('/ui/sign-in?notice=signed-out')
    expect(res.headers.getSetCookie()[0]).toMatch(/^gorkflow_session=; Max-Age=0; Path=\/ui/)
    const signIn = await h.get('/ui/sign-in?notice=signed-out')
    expect(await signIn.text()).toContain('You are signed out.')
  })

  it('refuses a CSRF token from another session', async () => {
    const h = createUiHarness(WORKFLOWS)
    const alice = await h.signIn()
    const bob = await h.signIn()
    const { run } = await h.engine.start('sleep', { ms: 60_000 })
    const res = await h.post(`/ui/runs/${run.runId}/cancel`, { _csrf: bob.csrf }, alice.cookie)
    expect(res.status).toBe(403)
    expect(await res.text()).toContain('Form expired')
    expect((await h.engine.getRun(run.runId)).status).toBe('PENDING')
  })

  it('sends a strict Content-Security-Policy and no-store on pages, long caching on assets', async () => {
    const h = createUiHarness(WORKFLOWS)
    const page = await h.get('/ui/sign-in')
    expect(page.headers.get('content-security-policy')).toContain("default-src 'none'")
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'")
    expect(page.headers.get('cache-control')).toBe('no-store')
    expect(page.headers.get('x-frame-options')).toBe('DENY')
    const css = await h.get('/ui/assets/ui.css')
    expect(css.headers.get('content-type')).toMatch(/^text\/css/)
    expect(css.headers.get('cache-control')).toContain('immutable')
  })
})

describe('starting a run from the workflows page', () => {
  it('shows each workflow with its DAG, input schema and a prefilled form', async () => {
    const h = createUiHarness(WORKFLOWS)
    const { cookie } = await h.signIn()
    const page = await (await h.get('/ui/workflows', cookie)).text()
    for (const wf of WORKFLOWS) expect(page).toContain(`action="/ui/workflows/${wf.id}/runs"`)
    expect(page).toContain('data-from="start" data-to="add"')
    expect(page).toContain('&quot;val1&quot;') // JSON Schema and the example input
    expect(page).toContain('<label for="wf-parallel-input">Input (JSON)</label>')
  })

  it('marks durable sleeps in the graph', async () => {
    const napping = workflow({ id: 'napping' })
      .then(defineStep({ id: 'before', handler: () => ({ ok: true }) }))
      .sleep(60_000)
      .build()
    const h = createUiHarness([napping])
    const { cookie } = await h.signIn()
    const page = await (await h.get('/ui/workflows/napping', cookie)).text()
    expect(page).toContain('>⏱ sleep-1</text>')
    expect(page).toContain('durable sleep')
  })

  it('starts a valid run, redirects to it, and executes it in the background', async () => {
    const h = createUiHarness(WORKFLOWS)
    const { cookie, csrf } = await h.signIn()
    const res = await h.post(
      '/ui/workflows/parallel/runs',
      { _csrf: csrf, input: '{"val1": 6, "val2": 7}', resourceId: 'user-42' },
      cookie,
    )
    expect(res.status).toBe(303)
    const location = res.headers.get('location') ?? ''
    expect(location).toMatch(/^\/ui\/runs\/[^/?]+\?notice=started$/)
    const runId = decodeURIComponent(location.split('/')[3]?.split('?')[0] ?? '')
    const run = await eventually(async () => {
      const r = await h.engine.getRun(runId)
      return r.status === 'COMPLETED' ? r : undefined
    })
    expect(run).toMatchObject({ resourceId: 'user-42', output: { message: 'sum=13 product=42' } })
    const detail = await (await h.get(location, cookie)).text()
    expect(detail).toContain('Run started.')
  })

  it('with a scheduler (scheduleRun), stores the run unleased and arms it instead of executing it', async () => {
    const armed: string[] = []
    const h = createUiHarness(WORKFLOWS, { scheduleRun: async (runId) => void armed.push(runId) })
    const { cookie, csrf } = await h.signIn()
    const res = await h.post('/ui/workflows/parallel/runs', { _csrf: csrf, input: '{"val1": 1, "val2": 2}' }, cookie)
    expect(res.status).toBe(303)
    const runId = decodeURIComponent((res.headers.get('location') ?? '').split('/')[3]?.split('?')[0] ?? '')
    await eventually(async () => (armed.length > 0 ? true : undefined))
    expect(armed).toEqual([runId])
    expect(await h.engine.getRun(runId)).toMatchObject({ status: 'PENDING', leaseOwner: null })
    expect(await h.engine.listSteps(runId)).toEqual([])
  })

  it('shows invalid JSON inline, keeping what was typed, and starts nothing', async () => {
    const h = createUiHarness(WORKFLOWS)
    const { cookie, csrf } = await h.signIn()
    const res = await h.post('/ui/workflows/parallel/runs', { _csrf: csrf, input: '{"val1": 6,' }, cookie)
    expect(res.status).toBe(400)
    const page = await res.text()
    expect(page).toContain('The input is not valid JSON')
    expect(page).toContain('role="alert"')
    expect(page).toMatch(/<textarea[^>]*aria-invalid="true"[^>]*>\{&quot;val1&quot;: 6,<\/textarea>/)
    expect((await h.engine.listRuns()).runs).toEqual([])
  })

  it('lists every schema issue next to the field', async () => {
    const h = createUiHarness(WORKFLOWS)
    const { cookie, csrf } = await h.signIn()
    const res = await h.post('/ui/workflows/parallel/runs', { _csrf: csrf, input: '{"val1": "six"}' }, cookie)
    expect(res.status).toBe(422)
    const page = await res.text()
    expect(page).toContain('does not match the workflow')
    expect(page).toContain('<code><bdi>val1</bdi></code>')
    expect(page).toContain('<code><bdi>val2</bdi></code>')
    expect((await h.engine.listRuns()).runs).toEqual([])
  })

  it('refuses a start without the CSRF token', async () => {
    const h = createUiHarness(WORKFLOWS)
    const { cookie } = await h.signIn()
    const res = await h.post('/ui/workflows/parallel/runs', { input: '{"val1":1,"val2":2}' }, cookie)
    expect(res.status).toBe(403)
    expect((await h.engine.listRuns()).runs).toEqual([])
  })

  it('answers 404 for an unknown workflow', async () => {
    const h = createUiHarness(WORKFLOWS)
    const { cookie, csrf } = await h.signIn()
    expect((await h.get('/ui/workflows/nope', cookie)).status).toBe(404)
    expect((await h.post('/ui/workflows/nope/runs', { _csrf: csrf, input: '{}' }, cookie)).status).toBe(404)
  })
})

describe('runs list', () => {
  it('shows runs newest first with status, progress, times and duration', async () => {
    const h = createUiHarness(WORKFLOWS)
    const { cookie } = await h.signIn()
    const done = await h.engine.run('parallel', { val1: 1, val2: 2 })
    const failed = await h.engine.run('failing', null)
    const page = await (await h.get('/ui/runs', cookie)).text()
    expect(page.indexOf(failed.runId)).toBeLessThan(page.indexOf(done.runId))
    expect(page).toContain('class="badge s-failed" data-status="FAILED"')
    expect(page).toContain('<progress max="100" value="100"')
    expect(page).toMatch(/<time datetime="[^"]+Z" title="[^"]+ UTC">just now<\/time>/)
    expect(page).not.toContain('data-refresh-ms')
  })

  it('refreshes itself while a shown run is live', async () => {
    const h = createUiHarness(WORKFLOWS, { refreshMs: 1_500 })
    const { cookie } = await h.signIn()
    await h.engine.start('sleep', { ms: 60_000 })
    const page = await (await h.get('/ui/runs', cookie)).text()
    expect(page).toContain('data-refresh-ms="1500"')
    expect(page).toContain('/ui/assets/refresh.js')
  })

  it("listens to a live run's event stream under the session, from the record it shows", async () => {
    const h = createUiHarness(WORKFLOWS, { streamPollMs: 200, streamMaxConnectionMs: 400 })
    const { cookie } = await h.signIn()
    const { run } = await h.engine.start('sleep', { ms: 60_000 })
    const page = await (await h.get(`/ui/runs/${run.runId}`, cookie)).text()
    expect(page).toContain(`data-stream="/ui/runs/${run.runId}/stream"`)
    expect(page).toContain(`data-updated-at="${run.updatedAt}"`)
    const anonymous = await h.get(`/ui/runs/${run.runId}/stream`)
    expect(anonymous.status).toBe(303)
    await h.engine.cancel(run.runId)
    const res = await h.get(`/ui/runs/${run.runId}/stream`, cookie)
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/)
    expect(await res.text()).toMatch(/event: run\.finished\ndata: \{"runId":"[^"]+","status":"CANCELLED"[^\n]*\nid: \d+\.2\.0\.0\.0\.T\n/)
  })

  it("shows a run's completion webhook and how its delivery went", async () => {
    const h = createUiHarness(WORKFLOWS)
    const { cookie } = await h.signIn()
    const { run } = await h.engine.start('sleep', { ms: 60_000 }, { webhookUrl: 'https://hooks.example.com/x' })
    const page = await (await h.get(`/ui/runs/${run.runId}`, cookie)).text()
    expect(page).toContain('<dt>Webhook</dt>')
    expect(page).toContain('https://hooks.example.com/x')
    expect(page).toContain('(sent once the run ends)')
    await h.engine.cancel(run.runId)
    const webhook = { url: 'https://hooks.example.com/x', attempts: 2, lastStatus: 200, nextAttemptAt: null, deliveredAt: 1_767_225_600_000 }
    await h.engine.store.recordWebhookAttempt?.(run.runId, 0, webhook)
    expect(await (await h.get(`/ui/runs/${run.runId}`, cookie)).text()).toContain('(delivered 2026-01-01 00:00:00 UTC; 2 attempts, last answer HTTP 200)')
  })

  it('answers a refresh probe with a fingerprint that changes only when the shown runs change', async () => {
    const h = createUiHarness(WORKFLOWS)
    const { cookie } = await h.signIn()
    const { run } = await h.engine.start('sleep', { ms: 60_000 })
    const probe = async (path: string) => {
      const res = await h.app.request(`http://localhost${path}`, { headers: { cookie, 'X-Gorkflow-Fingerprint': '1' } })
      expect(res.headers.get('content-type')).toMatch(/^text\/plain/)
      return res.text()
    }
    const page = await (await h.get('/ui/runs', cookie)).text()
    const list = await probe('/ui/runs')
    expect(page).toContain(`data-fingerprint="${list}"`)
    const detail = await probe(`/ui/runs/${run.runId}`)
    expect(await (await h.get(`/ui/runs/${run.runId}`, cookie)).text()).toContain(`data-fingerprint="${detail}"`)
    expect(await probe('/ui/runs')).toBe(list)
    expect(await probe(`/ui/runs/${run.runId}`)).toBe(detail)
    await h.engine.cancel(run.runId)
    expect(await probe('/ui/runs')).not.toBe(list)
    expect(await probe(`/ui/runs/${run.runId}`)).not.toBe(detail)
  })

  it('filters by workflow, status and resource', async () => {
    const h = createUiHarness(WORKFLOWS)
    const { cookie } = await h.signIn()
    const a = await h.engine.run('parallel', { val1: 1, val2: 2 }, { resourceId: 'r-1' })
    const b = await h.engine.run('parallel', { val1: 1, val2: 2 }, { resourceId: 'r-2' })
    const c = await h.engine.run('failing', null, { resourceId: 'r-1' })
    const shown = async (query: string) => {
      const page = await (await h.get(`/ui/runs?${query}`, cookie)).text()
      return [a, b, c].filter((r) => page.includes(`data-run-id="${r.runId}"`)).map((r) => r.runId)
    }
    expect(await shown('workflow=parallel')).toEqual([a.runId, b.runId])
    expect(await shown('status=FAILED')).toEqual([c.runId])
    expect(await shown('resource=r-1')).toEqual([a.runId, c.runId])
    expect(await shown('workflow=parallel&resource=r-1&status=COMPLETED')).toEqual([a.runId])
  })

  it('filters by tags (key:value, comma-separated, all must match) and refuses a malformed tag filter', async () => {
    const h = createUiHarness(WORKFLOWS)
    const { cookie } = await h.signIn()
    const a = await h.engine.run('parallel', { val1: 1, val2: 2 }, { tags: { env: 'prod', team: 'red' } })
    const b = await h.engine.run('parallel', { val1: 1, val2: 2 }, { tags: { env: 'prod' } })
    const c = await h.engine.run('failing', null, { tags: { env: 'dev', team: 'red' } })
    const shown = async (query: string) => {
      const page = await (await h.get(`/ui/runs?${query}`, cookie)).text()
      return [a, b, c].filter((r) => page.includes(`data-run-id="${r.runId}"`)).map((r) => r.runId)
    }
    expect(await shown('tags=env%3Aprod')).toEqual([a.runId, b.runId])
    expect(await shown(`tags=${encodeURIComponent('env:prod, team:red')}`)).toEqual([a.runId])
    expect(await shown(`tags=${encodeURIComponent('team:red')}&workflow=failing`)).toEqual([c.runId])
    const bad = await h.get(`/ui/runs?tags=${encodeURIComponent('env')}`, cookie)
    expect(bad.status).toBe(400)
    const text = await bad.text()
    expect(text).toContain('Tags are written key:value')
    expect(text).not.toContain('data-run-id=')
  })

  it('pages with the store cursor and says when a cursor is no longer valid', async () => {
    const h = createUiHarness(WORKFLOWS)
    const { cookie } = await h.signIn()
    for (let i = 0; i < 23; i++) await h.engine.start('sleep', { ms: 1 })
    const first = await (await h.get('/ui/runs', cookie)).text()
    expect(first.match(/data-run-id=/g)).toHaveLength(20)
    const next = /<a href="([^"]+)" rel="next">/.exec(first)?.[1]?.replace(/&amp;/g, '&')
    expect(next).toMatch(/^\/ui\/runs\?cursor=/)
    const second = await (await h.get(next as string, cookie)).text()
    expect(second.match(/data-run-id=/g)).toHaveLength(3)
    expect(second).not.toContain('rel="next"')
    expect(second).toContain('← Newest runs')
    const bad = await h.get('/ui/runs?cursor=not-a-cursor', cookie)
    expect(bad.status).toBe(400)
    expect(await bad.text()).toContain('That page link is not valid')
  })
})

describe('run detail', () => {
  it('draws the DAG with every node and edge, coloured and labelled by status', async () => {
    const h = createUiHarness(WORKFLOWS)
    const { cookie } = await h.signIn()
    const run = await h.engine.run('parallel', { val1: 2, val2: 5 })
    const page = await (await h.get(`/ui/runs/${run.runId}`, cookie)).text()
    for (const step of ['start', 'add', 'multiply', 'format']) {
      expect(page).toContain(`class="node s-completed" href="#step-${step}" data-step="${step}" data-status="COMPLETED"`)
    }
    for (const [from, to] of parallelWorkflow.edges) expect(page).toContain(`data-from="${from}" data-to="${to}"`)
    expect(page.match(/class="edge"/g)).toHaveLength(4)
    expect(page.match(/<rect class="bar /g)).toHaveLength(4)
    expect(page).toContain('sum=7 product=10')
    expect(page).not.toContain('Cancel run')
  })

  it('shows the run error with its step, and the step error with its attempt', async () => {
    const h = createUiHarness(WORKFLOWS)
    const { cookie } = await h.signIn()
    const run = await h.engine.run('failing', null)
    const page = await (await h.get(`/ui/runs/${run.runId}`, cookie)).text()
    expect(page).toContain('<h2 id="run-error">Run error</h2>')
    expect(page).toContain('At step <a href="#step-charge">charge</a>')
    expect(page).toContain('card declined')
    expect(page).toContain('Error of attempt 1')
    expect(page).toContain('data-step="charge" data-status="FAILED"')
  })

  it('styles skipped and not-started steps apart from completed ones', async () => {
    const h = createUiHarness(WORKFLOWS)
    const { cookie } = await h.signIn()
    const run = await h.engine.run('conditional', { value: 3 })
    const page = await (await h.get(`/ui/runs/${run.runId}`, cookie)).text()
    expect(page).toContain('class="node s-skipped" href="#step-double" data-step="double" data-status="SKIPPED"')
    expect(page).toContain('>SKIPPED</text>')
  })

  it('makes retries visible in the timeline and the step details', async () => {
    const h = createUiHarness(WORKFLOWS)
    const { cookie } = await h.signIn()
    const run = await h.engine.run('flaky', null)
    expect(run.status).toBe('COMPLETED')
    const page = await (await h.get(`/ui/runs/${run.runId}`, cookie)).text()
    expect(page).toContain('attempt 3 (2 retries)')
    expect(page).toContain('3 attempts')
  })

  it('shows interrupted attempts apart from retries', async () => {
    let started!: () => void
    const running = new Promise<void>((r) => { started = r })
    const stubborn = defineStep({
      id: 'stubborn',
      maxRetries: 0,
      handler: (ctx) => {
        if (ctx.attempt > 0) return 'done'
        started()
        return new Promise<never>(() => {})
      },
    })
    const wf = workflow({ id: 'stubborn' }).then(stubborn).build()
    const h = createUiHarness([wf])
    const { cookie } = await h.signIn()
    const begun = await h.engine.begin('stubborn', null)
    await running
    // Past the grace the attempt is interrupted and the run released; another engine finishes it.
    await h.engine.shutdown({ graceMs: 0 })
    const finished = await new Engine({ store: h.engine.store, workflows: [wf] }).execute(begun.run.runId)
    expect(finished.status).toBe('COMPLETED')
    const page = await (await h.get(`/ui/runs/${begun.run.runId}`, cookie)).text()
    expect(page).toContain('attempt 2 (0 retries, 1 interrupted)')
    expect(page).toMatch(/<dt>Interruptions<\/dt>\s*<dd>1/)
  })

  it('says what a sleeping run waits for, in the list and on its page', async () => {
    const napping = workflow({ id: 'napping' })
      .then(defineStep({ id: 'before', handler: () => ({ ok: true }) }))
      .sleep(3_600_000, { id: 'nap' })
      .build()
    const h = createUiHarness([napping])
    const { cookie } = await h.signIn()
    const run = await h.engine.run('napping', null)
    expect(run.waitingFor).toMatchObject({ kind: 'sleep', stepId: 'nap' })
    const page = await (await h.get(`/ui/runs/${run.runId}`, cookie)).text()
    expect(page).toMatch(/Sleeping at step nap until [^<]+ UTC \(in (59 min|1 h)\)\./)
    expect(page).toContain('>⏱ nap</text>')
    const list = await (await h.get('/ui/runs', cookie)).text()
    expect(list).toContain('<span class="abs">sleeping</span>')
  })

  it('shows when a waiting run is due, and flags it late once it is overdue and not running', async () => {
    const napping = workflow({ id: 'napping' }).sleep(3_600_000, { id: 'nap' }).build()
    let now = Date.now()
    const h = createUiHarness([napping], { now: () => now })
    const { cookie } = await h.signIn()
    const run = await h.engine.run('napping', null)
    const due = new Date(run.wakeAt as number).toISOString()
    const list = await (await h.get('/ui/runs', cookie)).text()
    expect(list).toMatch(new RegExp(`<span class="abs" data-late="false">due <time datetime="${due}"[^>]*>in (59 min|1 h)</time>`))
    const page = await (await h.get(`/ui/runs/${run.runId}`, cookie)).text()
    expect(page).toContain(`<dt>Due</dt><dd><time datetime="${due}">`)
    expect(page).not.toContain('data-late="true"')

    now = (run.wakeAt as number) + 5 * 60_000 // nothing swept it: the harness has no sweeper
    const lateList = await (await h.get('/ui/runs', cookie)).text()
    expect(lateList).toMatch(/<span class="abs late" data-late="true">late: due <time[^>]*>5 min ago<\/time>/)
    const latePage = await (await h.get(`/ui/runs/${run.runId}`, cookie)).text()
    expect(latePage).toContain('Late: due 5 min ago and not running yet.')
    expect(latePage).toContain('<dd class="late">late</dd>')
  })

  it('cancels a live run with its CSRF token and shows it CANCELLED', async () => {
    const h = createUiHarness(WORKFLOWS)
    const { cookie, csrf } = await h.signIn()
    const { run } = await h.engine.start('sleep', { ms: 60_000 })
    const execution = h.engine.execute(run.runId).catch(() => null)
    await eventually(async () => ((await h.engine.listSteps(run.runId))[0]?.status === 'RUNNING' ? true : undefined))
    const live = await (await h.get(`/ui/runs/${run.runId}`, cookie)).text()
    expect(live).toContain('Cancel run')
    expect(live).toContain('data-refresh-ms=')
    const res = await h.post(`/ui/runs/${run.runId}/cancel`, { _csrf: csrf }, cookie)
    expect(res.status).toBe(303)
    expect(res.headers.get('location')).toBe(`/ui/runs/${run.runId}?notice=cancelled`)
    await execution
    const page = await (await h.get(res.headers.get('location') as string, cookie)).text()
    expect(page).toContain('Cancellation recorded.')
    expect(page).toContain('class="badge s-cancelled" data-status="CANCELLED"')
    expect(page).toContain('data-step="sleep" data-status="CANCELLED"')
    expect(page).not.toContain('Cancel run')
    const again = await h.post(`/ui/runs/${run.runId}/cancel`, { _csrf: csrf }, cookie)
    expect(again.headers.get('location')).toBe(`/ui/runs/${run.runId}?notice=already-finished`)
  })

  it('escapes everything a user controls', async () => {
    const h = createUiHarness(WORKFLOWS)
    const { cookie } = await h.signIn()
    const evil = '</pre><script>alert(1)</script>'
    const run = await h.engine.run('conditional', { value: 1, note: evil } as never, { resourceId: `<img src=x onerror=alert(1)>` })
    const pages = [
      await (await h.get(`/ui/runs/${run.runId}`, cookie)).text(),
      await (await h.get('/ui/runs', cookie)).text(),
      await (await h.get(`/ui/runs?resource=${encodeURIComponent(evil)}`, cookie)).text(),
    ]
    for (const page of pages) {
      expect(page).not.toContain('<script>alert')
      expect(page).not.toContain('<img src=x')
    }
    expect(pages[0]).toContain('&lt;/pre&gt;&lt;script&gt;alert(1)&lt;/script&gt;')
  })

  it('answers 404 for an unknown run and for an unknown page', async () => {
    const h = createUiHarness(WORKFLOWS)
    const { cookie } = await h.signIn()
    const res = await h.get('/ui/runs/does-not-exist', cookie)
    expect(res.status).toBe(404)
    expect(await res.text()).toContain('Run not found')
    expect((await h.get('/ui/nothing-here', cookie)).status).toBe(404)
  })
})

describe('page weight', () => {
  it('keeps the detail page of a completed 20-step run under 48 KB', async () => {
    const h = createUiHarness([chainWorkflow(20)])
    const { cookie } = await h.signIn()
    const run = await h.engine.run('chain-20', { value: 0 })
    expect(run.status).toBe('COMPLETED')
    const page = await (await h.get(`/ui/runs/${run.runId}`, cookie)).text()
    const bytes = new TextEncoder().encode(page).length
    const gzipped = gzipSync(page).length
    const css = new TextEncoder().encode(await (await h.get('/ui/assets/ui.css')).text()).length
    expect(page.match(/<rect class="bar /g)).toHaveLength(20)
    expect(page.match(/class="edge"/g)).toHaveLength(19)
    console.info(`detail page of a 20-step run: ${bytes} bytes of HTML, ${gzipped} gzipped (+ ${css} bytes of cached CSS)`)
    expect(bytes).toBeLessThan(48 * 1024)
  })
})

describe('a 10,000-step run', () => {
  it('lists 100 steps a page with links between pages, folds the graph, and refuses a page that is not a number', async () => {
    const h = createUiHarness([chainWorkflow(10_000)])
    const { cookie } = await h.signIn()
    const run = await h.engine.run('chain-10000', { value: 0 })
    expect(run.status).toBe('COMPLETED')
    const first = await (await h.get(`/ui/runs/${run.runId}`, cookie)).text()
    expect(first.match(/<details id="step-/g)).toHaveLength(100)
    expect(first).toContain('Steps 1–100 of 10,000 (page 1 of 100)')
    expect(first).toContain('href="?steps=2#steps" rel="next"')
    expect(first).toContain('… 9,998 steps')
    expect(first).toContain('data-folded="step-02"')
    expect(first.match(/class="edge"/g)).toHaveLength(2)
    expect(first).toContain('href="?steps=100#step-step-10000"')
    expect(new TextEncoder().encode(first).length).toBeLessThan(400 * 1024)

    const last = await h.get(`/ui/runs/${run.runId}?steps=100`, cookie)
    expect(last.status).toBe(200)
    const lastPage = await last.text()
    expect(lastPage).toContain('Steps 9,901–10,000 of 10,000 (page 100 of 100)')
    expect(lastPage).toContain('id="step-step-10000"')
    expect(lastPage).not.toContain('id="step-step-01"')
    expect(await (await h.get(`/ui/runs/${run.runId}?steps=1000`, cookie)).text()).toContain('(page 100 of 100)')

    const bad = await h.get(`/ui/runs/${run.runId}?steps=abc`, cookie)
    expect(bad.status).toBe(400)
    const badPage = await bad.text()
    expect(badPage).toContain('Not a page of steps; showing the first page.')
    expect(badPage).toContain('(page 1 of 100)')
  }, 120_000)
})

describe('the sign-in page itself', () => {
  it('has a labelled token field and carries the next path', async () => {
    const h = createUiHarness(WORKFLOWS)
    const page = await (await h.get('/ui/sign-in?next=%2Fui%2Fworkflows')).text()
    expect(page).toContain('<label for="token">API token</label>')
    expect(page).toContain('name="next" value="/ui/workflows"')
  })

  it('sends a signed-in visitor straight on', async () => {
    const h = createUiHarness(WORKFLOWS)
    const { cookie } = await h.signIn()
    const res = await h.get('/ui/sign-in', cookie)
    expect(res.status).toBe(303)
    expect(res.headers.get('location')).toBe('/ui/runs')
  })
})

describe('run controls: pause, resume, retry, send an event', () => {
  const HOUR = 3_600_000
  const napping = workflow({ id: 'napping' })
    .then(defineStep({ id: 'before', handler: () => ({ ok: true }) }))
    .sleep(HOUR, { id: 'nap' })
    .then(defineStep({ id: 'after', handler: () => ({ done: true }) }))
    .build()
  const decision = z.object({ approved: z.boolean(), by: z.string().min(1) })
  const approval = workflow({ id: 'approval', input: z.object({ amount: z.number() }) })
    .waitForEvent('decision', { schema: decision, timeoutMs: HOUR })
    .then(defineStep({ id: 'finalize', input: decision, handler: (_ctx, d) => d }))
    .build()
  // Sleeps first, so an event sent now is kept until the wait is reached.
  const later = workflow({ id: 'later' })
    .sleep(HOUR, { id: 'first' })
    .waitForEvent('go', { schema: z.object({}) })
    .build()
  let broken = true
  const calls: string[] = []
  const fixable = workflow({ id: 'fixable' })
    .then(defineStep({ id: 'prepare', handler: () => (calls.push('prepare'), { n: 1 }) }))
    .then(
      defineStep({
        id: 'charge',
        maxRetries: 0,
        handler: (_ctx, { n }: { n: number }) => {
          calls.push('charge')
          if (broken) throw new Error('the payment service is down')
          return { charged: n }
        },
      }),
    )
    .build()
  const CONTROLS = [napping, approval, later, fixable, parallelWorkflow]

  const statusOf = async (h: ReturnType<typeof createUiHarness>, runId: string) => (await h.engine.getRun(runId)).status

  it('pauses a live run and resumes it, each only with the CSRF token', async () => {
    const h = createUiHarness(CONTROLS)
    const { cookie, csrf } = await h.signIn()
    const run = await h.engine.run('napping', null)
    expect(run.waitingFor).toMatchObject({ kind: 'sleep', stepId: 'nap' })
    const live = await (await h.get(`/ui/runs/${run.runId}`, cookie)).text()
    expect(live).toContain(`action="/ui/runs/${run.runId}/pause"`)
    expect(live).toContain('Pause run')
    expect(live).not.toContain('Resume run')

    const refused = await h.post(`/ui/runs/${run.runId}/pause`, {}, cookie)
    expect(refused.status).toBe(403)
    expect(await statusOf(h, run.runId)).toBe('RUNNING')

    const paused = await h.post(`/ui/runs/${run.runId}/pause`, { _csrf: csrf }, cookie)
    expect(paused.status).toBe(303)
    expect(paused.headers.get('location')).toBe(`/ui/runs/${run.runId}?notice=paused`)
    expect(await statusOf(h, run.runId)).toBe('PAUSED')
    const page = await (await h.get(paused.headers.get('location') as string, cookie)).text()
    expect(page).toContain('class="badge s-paused" data-status="PAUSED"')
    expect(page).toContain('‖</span>PAUSED')
    expect(page).toContain('Paused: nothing new starts until the run is resumed.')
    expect(page).toContain('Resume run')
    expect(page).toContain('Cancel run')
    expect(page).not.toContain('Pause run')
    const again = await h.post(`/ui/runs/${run.runId}/pause`, { _csrf: csrf }, cookie)
    expect(again.headers.get('location')).toBe(`/ui/runs/${run.runId}?notice=already-paused`)

    expect((await h.post(`/ui/runs/${run.runId}/resume`, { _csrf: 'forged' }, cookie)).status).toBe(403)
    expect(await statusOf(h, run.runId)).toBe('PAUSED')
    const resumed = await h.post(`/ui/runs/${run.runId}/resume`, { _csrf: csrf }, cookie)
    expect(resumed.headers.get('location')).toBe(`/ui/runs/${run.runId}?notice=resumed`)
    expect(await statusOf(h, run.runId)).toBe('RUNNING')
    expect(await (await h.get(resumed.headers.get('location') as string, cookie)).text()).toContain('Resumed. The run continues.')
    const notPaused = await h.post(`/ui/runs/${run.runId}/resume`, { _csrf: csrf }, cookie)
    expect(notPaused.headers.get('location')).toBe(`/ui/runs/${run.runId}?notice=not-paused`)

    const done = await h.engine.run('parallel', { val1: 1, val2: 2 })
    const finished = await h.post(`/ui/runs/${done.runId}/pause`, { _csrf: csrf }, cookie)
    expect(finished.headers.get('location')).toBe(`/ui/runs/${done.runId}?notice=finished`)
    const donePage = await (await h.get(`/ui/runs/${done.runId}`, cookie)).text()
    for (const button of ['Pause run', 'Resume run', 'Retry run', 'Send event']) expect(donePage).not.toContain(button)
  })

  it('lists PAUSED in the status filter and filters by it', async () => {
    const h = createUiHarness(CONTROLS)
    const { cookie } = await h.signIn()
    const paused = await h.engine.run('napping', null)
    await h.engine.pause(paused.runId)
    const sleeping = await h.engine.run('napping', null)
    const page = await (await h.get('/ui/runs?status=PAUSED', cookie)).text()
    expect(page).toContain('<option value="PAUSED" selected="">PAUSED</option>')
    expect(page).toContain(`data-run-id="${paused.runId}" data-status="PAUSED"`)
    expect(page).not.toContain(`data-run-id="${sleeping.runId}"`)
  })

  it('retries a FAILED run from the form, linking both runs and reusing the completed step', async () => {
    const h = createUiHarness(CONTROLS)
    const { cookie, csrf } = await h.signIn()
    broken = true
    calls.length = 0
    const failed = await h.engine.run('fixable', null)
    expect(failed.status).toBe('FAILED')
    const page = await (await h.get(`/ui/runs/${failed.runId}`, cookie)).text()
    expect(page).toContain(`action="/ui/runs/${failed.runId}/retry"`)
    expect(page).toContain('<label for="retry-from">Retry from</label>')
    expect(page).toContain('<option value="prepare">step prepare onwards</option>')

    const refused = await h.post(`/ui/runs/${failed.runId}/retry`, { fromStep: '' }, cookie)
    expect(refused.status).toBe(403)
    expect((await h.engine.listRuns()).runs).toHaveLength(1)

    const unknown = await h.post(`/ui/runs/${failed.runId}/retry`, { _csrf: csrf, fromStep: 'nope' }, cookie)
    expect(unknown.headers.get('location')).toBe(`/ui/runs/${failed.runId}?notice=unknown-step`)
    expect((await h.engine.listRuns()).runs).toHaveLength(1)

    broken = false
    const res = await h.post(`/ui/runs/${failed.runId}/retry`, { _csrf: csrf, fromStep: '' }, cookie)
    expect(res.status).toBe(303)
    const location = res.headers.get('location') ?? ''
    expect(location).toMatch(/^\/ui\/runs\/[^/?]+\?notice=retried$/)
    const retryId = decodeURIComponent(location.split('/')[3]?.split('?')[0] ?? '')
    expect(retryId).not.toBe(failed.runId)
    const retry = await eventually(async () => {
      const r = await h.engine.getRun(retryId)
      return r.status === 'COMPLETED' ? r : undefined
    })
    expect(retry).toMatchObject({ retryOf: failed.runId, output: { charged: 1 } })
    expect(calls).toEqual(['prepare', 'charge', 'charge'])
    expect((await h.engine.getRun(failed.runId)).retriedBy).toBe(retryId)

    const retryPage = await (await h.get(location, cookie)).text()
    expect(retryPage).toContain('Retry started')
    expect(retryPage).toContain(`<dt>Retry of</dt><dd><a class="mono" href="/ui/runs/${failed.runId}">`)
    const failedPage = await (await h.get(`/ui/runs/${failed.runId}`, cookie)).text()
    expect(failedPage).toContain(`href="/ui/runs/${retryId}"`)
    expect(failedPage).not.toContain('Retry run')
    const twice = await h.post(`/ui/runs/${failed.runId}/retry`, { _csrf: csrf }, cookie)
    expect(twice.headers.get('location')).toBe(`/ui/runs/${failed.runId}?notice=not-retryable`)
    expect((await h.engine.listRuns()).runs).toHaveLength(2)
  })

  it('sends an event from the form: name prefilled from the wait, problems inline, then the run completes', async () => {
    const h = createUiHarness(CONTROLS)
    const { cookie, csrf } = await h.signIn()
    const run = await h.engine.run('approval', { amount: 50 })
    expect(run.waitingFor).toMatchObject({ kind: 'event', name: 'decision' })
    const path = `/ui/runs/${run.runId}`
    const page = await (await h.get(path, cookie)).text()
    expect(page).toContain('Waiting for event “decision” at step decision')
    expect(page).toContain(`action="${path}/events"`)
    expect(page).toMatch(/<input id="event-name" name="name" value="decision"/)
    expect(page).toContain('&quot;approved&quot;: false') // an example read off the wait's schema
    const noEvent = () => h.engine.store.loadEvent(run.runId, 'decision').then(() => 'stored', () => 'none')

    const refused = await h.post(`${path}/events`, { name: 'decision', payload: '{"approved":true,"by":"ada"}' }, cookie)
    expect(refused.status).toBe(403)
    expect(await noEvent()).toBe('none')

    const badJson = await h.post(`${path}/events`, { _csrf: csrf, name: 'decision', payload: '{"approved": tru' }, cookie)
    expect(badJson.status).toBe(400)
    const badJsonPage = await badJson.text()
    expect(badJsonPage).toContain('The payload is not valid JSON')
    expect(badJsonPage).toMatch(/<textarea[^>]*aria-invalid="true"[^>]*>\{&quot;approved&quot;: tru<\/textarea>/)

    const invalid = await h.post(`${path}/events`, { _csrf: csrf, name: 'decision', payload: '{"approved":"yes"}' }, cookie)
    expect(invalid.status).toBe(422)
    const invalidPage = await invalid.text()
    expect(invalidPage).toContain('role="alert"')
    expect(invalidPage).toContain('does not match the schema of event “decision”')
    expect(invalidPage).toContain('<code><bdi>approved</bdi></code>')
    expect(invalidPage).toContain('<code><bdi>by</bdi></code>')
    // Shown at the form's POST address: the page must not reload itself there (nor drop the typed payload).
    expect(invalidPage).not.toContain('data-refresh-ms=')
    expect(page).toContain('data-refresh-ms=')

    const unknown = await h.post(`${path}/events`, { _csrf: csrf, name: 'other', payload: '{}' }, cookie)
    expect(unknown.status).toBe(400)
    expect(await unknown.text()).toContain('waits for no event named “other”')
    const badName = await h.post(`${path}/events`, { _csrf: csrf, name: 'no spaces', payload: '{}' }, cookie)
    expect(badName.status).toBe(400)
    expect(await badName.text()).toMatch(/<input id="event-name" name="name" value="no spaces"[^>]*aria-invalid="true"/)
    expect(await noEvent()).toBe('none')
    expect(await statusOf(h, run.runId)).toBe('RUNNING')

    const sent = await h.post(`${path}/events`, { _csrf: csrf, name: 'decision', payload: '{"approved": true, "by": "ada"}' }, cookie)
    expect(sent.status).toBe(303)
    expect(sent.headers.get('location')).toBe(`${path}?notice=event-sent`)
    const done = await eventually(async () => {
      const r = await h.engine.getRun(run.runId)
      return r.status === 'COMPLETED' ? r : undefined
    })
    expect(done.output).toEqual({ approved: true, by: 'ada' })
    const after = await h.post(`${path}/events`, { _csrf: csrf, name: 'decision', payload: '{}' }, cookie)
    expect(after.headers.get('location')).toBe(`${path}?notice=finished`)
  })

  it('keeps an event sent before the wait, and refuses a second one inline', async () => {
    const h = createUiHarness(CONTROLS)
    const { cookie, csrf } = await h.signIn()
    const run = await h.engine.run('later', null)
    expect(run.waitingFor).toMatchObject({ kind: 'sleep', stepId: 'first' })
    const path = `/ui/runs/${run.runId}`
    expect(await (await h.get(path, cookie)).text()).toMatch(/<input id="event-name" name="name" value="go"/)
    const first = await h.post(`${path}/events`, { _csrf: csrf, name: 'go', payload: '{}' }, cookie)
    expect(first.headers.get('location')).toBe(`${path}?notice=event-sent`)
    expect(await h.engine.store.loadEvent(run.runId, 'go')).toMatchObject({ payload: {} })
    const second = await h.post(`${path}/events`, { _csrf: csrf, name: 'go', payload: '{}' }, cookie)
    expect(second.status).toBe(409)
    expect(await second.text()).toContain('An event named “go” was already delivered to this run.')
    expect(await statusOf(h, run.runId)).toBe('RUNNING')
  })
})
