/**
 * The dashboard in a real browser: headless Debian Chromium driven by playwright-core against the app served
 * by @hono/node-server on a free port. Screenshots of the runs list and the run detail go to test-results/.
 */
import { mkdirSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { serve } from '@hono/node-server'
import { Hono } from 'hono'
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Engine } from '../../src/core/engine'
import { createUiApp } from '../../src/http/ui/ui-app'
import { MemoryStore } from '../../src/store/memory/memory-store'
import { approvalWorkflow, parallelWorkflow, sleepWorkflow } from '../../src/workflows'

const TOKEN = 'browser-test-token'
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
const ARTIFACTS = 'test-results'
const COLOURS = {
  completed: { fill: 'rgb(220, 252, 231)', stroke: 'rgb(22, 163, 74)' },
  cancelled: { fill: 'rgb(243, 232, 255)', stroke: 'rgb(126, 34, 206)' },
}

let engine: Engine
let server: ReturnType<typeof serve>
let baseUrl: string
let browser: Browser
let context: BrowserContext
let page: Page
let parallelRunId: string

beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true })
  engine = new Engine({ store: new MemoryStore(), workflows: [parallelWorkflow, sleepWorkflow, approvalWorkflow] })
  const app = new Hono().route('/ui', createUiApp({ engine, apiTokens: [TOKEN], refreshMs: 500 }))
  baseUrl = await new Promise<string>((resolve) => {
    server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info: AddressInfo) =>
      resolve(`http://127.0.0.1:${info.port}`),
    )
  })
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  })
  context = await browser.newContext({ viewport: { width: 1200, height: 900 } })
  page = await context.newPage()
  page.setDefaultTimeout(10_000)
})

afterAll(async () => {
  await browser?.close()
  await engine?.shutdown()
  await new Promise<void>((resolve) => {
    if (!server) return resolve()
    if ('closeAllConnections' in server) server.closeAllConnections()
    server.close(() => resolve())
  })
})

/** Fill and stroke the browser computed for a DAG node's box. */
function nodeColours(stepId: string) {
  return page.$eval(`#run-dag [data-step="${stepId}"] rect`, (rect) => {
    const style = getComputedStyle(rect)
    return { fill: style.fill, stroke: style.stroke }
  })
}

describe('dashboard in Chromium', () => {
  it('sends a signed-out visitor to sign in, and signs in with an API token', async () => {
    await page.goto(`${baseUrl}/ui/runs`)
    expect(new URL(page.url()).pathname).toBe('/ui/sign-in')
    await page.getByLabel('API token').fill('wrong-token')
    await page.getByRole('button', { name: 'Sign in' }).click()
    await page.getByText('That token is not accepted.').waitFor()
    await page.getByLabel('API token').fill(TOKEN)
    await page.getByRole('button', { name: 'Sign in' }).click()
    await page.waitForURL(`${baseUrl}/ui/runs`)
    expect(await page.textContent('h1')).toBe('Runs')
    const [cookie] = await context.cookies()
    expect(cookie).toMatchObject({ name: 'gorkflow_session', httpOnly: true, sameSite: 'Strict' })
    expect(cookie?.value).not.toContain(TOKEN)
  })

  it('starts `parallel` from the workflows form, showing a schema error inline first', async () => {
    await page.getByRole('link', { name: 'Workflows', exact: true }).click()
    const section = page.locator('#wf-parallel')
    const input = section.getByLabel('Input (JSON)')
    await input.fill('{"val1": "three"}')
    await section.getByRole('button', { name: 'Start run' }).click()
    await page.locator('[role="alert"]').getByText('does not match').waitFor()
    expect(await page.locator('[role="alert"] code').allTextContents()).toEqual(expect.arrayContaining(['val1', 'val2']))
    await page.locator('#wf-parallel').getByLabel('Input (JSON)').fill('{"val1": 3, "val2": 4}')
    await page.locator('#wf-parallel').getByRole('button', { name: 'Start run' }).click()
    await page.waitForURL(/\/ui\/runs\/[^/]+\?notice=started$/)
    parallelRunId = decodeURIComponent(new URL(page.url()).pathname.split('/')[3] ?? '')
    await page.getByText('Run started.').waitFor()
  })

  it('watches the run complete in the list, then opens its detail', async () => {
    await page.getByRole('link', { name: '← All runs' }).click()
    const row = page.locator(`tr[data-run-id="${parallelRunId}"]`)
    await page.waitForSelector(`tr[data-run-id="${parallelRunId}"][data-status="COMPLETED"]`)
    expect(await row.locator('.badge').textContent()).toContain('COMPLETED')
    expect(await row.locator('progress').getAttribute('value')).toBe('100')
    expect(await row.locator('td[data-label="Created"] .abs').textContent()).toMatch(/UTC$/)
    await page.screenshot({ path: `${ARTIFACTS}/ui-runs-list.png`, fullPage: true })
    await row.getByRole('link').click()
    await page.waitForURL(`${baseUrl}/ui/runs/${encodeURIComponent(parallelRunId)}`)
  })

  it('draws the DAG with the right nodes, edges and colours', async () => {
    const nodes = await page.$$eval('#run-dag .nodes [data-step]', (els) =>
      els.map((el) => [el.getAttribute('data-step'), el.getAttribute('data-status')]),
    )
    expect(nodes.sort()).toEqual([
      ['add', 'COMPLETED'],
      ['format', 'COMPLETED'],
      ['multiply', 'COMPLETED'],
      ['start', 'COMPLETED'],
    ])
    const edges = await page.$$eval('#run-dag path.edge', (els) =>
      els.map((el) => `${el.getAttribute('data-from')}->${el.getAttribute('data-to')}`),
    )
    expect(edges.sort()).toEqual(['add->format', 'multiply->format', 'start->add', 'start->multiply'])
    for (const step of ['start', 'add', 'multiply', 'format']) expect(await nodeColours(step)).toEqual(COLOURS.completed)

    // Geometry as rendered: each edge leaves its source's bottom edge and ends on its target's top edge.
    const mismatches = await page.$$eval('#run-dag path.edge', (paths) =>
      paths.flatMap((path) => {
        const p = path as SVGPathElement
        const box = (id: string | null) =>
          (document.querySelector(`#run-dag [data-step="${id}"] rect`) as SVGRectElement).getBBox()
        const from = box(p.getAttribute('data-from'))
        const to = box(p.getAttribute('data-to'))
        const start = p.getPointAtLength(0)
        const end = p.getPointAtLength(p.getTotalLength())
        const ok =
          Math.abs(start.y - (from.y + from.height)) < 1 &&
          start.x > from.x &&
          start.x < from.x + from.width &&
          Math.abs(end.y - to.y) < 1 &&
          end.x > to.x &&
          end.x < to.x + to.width
        return ok ? [] : [`${p.getAttribute('data-from')}->${p.getAttribute('data-to')}`]
      }),
    )
    expect(mismatches).toEqual([])
    // The parallel steps share a layer, below the entry and above the join.
    const y = (step: string) => page.$eval(`#run-dag [data-step="${step}"] rect`, (r) => (r as SVGRectElement).getBBox().y)
    expect(await y('add')).toBe(await y('multiply'))
    expect(await y('start')).toBeLessThan(await y('add'))
    expect(await y('format')).toBeGreaterThan(await y('add'))
  })

  it('shows one timeline bar per step, the output and no Cancel button', async () => {
    const bars = await page.$$eval('.timeline rect.bar', (rects) =>
      rects.map((r) => ({ step: r.getAttribute('data-step'), width: r.getBoundingClientRect().width })),
    )
    expect(bars.map((b) => b.step).sort()).toEqual(['add', 'format', 'multiply', 'start'])
    for (const bar of bars) expect(bar.width).toBeGreaterThan(0)
    expect(await page.getByLabel('Run output').textContent()).toContain('sum=7 product=12')
    expect(await page.getByRole('button', { name: 'Cancel run' }).count()).toBe(0)
    await page.screenshot({ path: `${ARTIFACTS}/ui-run-detail.png`, fullPage: true })
  })

  it('is keyboard navigable: the first Tab reaches the skip link, and DAG nodes are focusable links', async () => {
    await page.reload()
    await page.keyboard.press('Tab')
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Skip to content')
    await page.focus('#run-dag a[data-step="add"]')
    await page.keyboard.press('Enter')
    expect(new URL(page.url()).hash).toBe('#step-add')
  })

  it('stays within a 375 px wide screen', async () => {
    await page.setViewportSize({ width: 375, height: 800 })
    for (const path of ['/ui/runs', `/ui/runs/${encodeURIComponent(parallelRunId)}`, '/ui/workflows']) {
      await page.goto(`${baseUrl}${path}`)
      const width = await page.evaluate(() => document.documentElement.scrollWidth)
      expect(width, path).toBeLessThanOrEqual(375)
    }
    await page.goto(`${baseUrl}/ui/runs`)
    await page.screenshot({ path: `${ARTIFACTS}/ui-runs-list-375px.png`, fullPage: true })
    await page.setViewportSize({ width: 1200, height: 900 })
  })

  it('cancels a running `sleep` run and shows it CANCELLED', async () => {
    await page.goto(`${baseUrl}/ui/workflows/sleep`)
    await page.getByLabel('Input (JSON)').fill('{"ms": 60000}')
    await page.getByRole('button', { name: 'Start run' }).click()
    await page.waitForURL(/\/ui\/runs\/[^/]+\?notice=started$/)
    await page.waitForSelector('#run-dag [data-step="sleep"][data-status="RUNNING"]')
    await page.getByRole('button', { name: 'Cancel run' }).click()
    await page.waitForURL(/notice=cancelled$/)
    await page.getByText('Cancellation recorded.').waitFor()
    expect(await page.locator('.actions .badge').textContent()).toContain('CANCELLED')
    expect(await page.getAttribute('#run-dag [data-step="sleep"]', 'data-status')).toBe('CANCELLED')
    expect(await nodeColours('sleep')).toEqual(COLOURS.cancelled)
    expect(await page.getByRole('button', { name: 'Cancel run' }).count()).toBe(0)
  })

  it('starts `approval`, sees it wait for `decision`, sends the decision from the form and sees it COMPLETED', async () => {
    await page.goto(`${baseUrl}/ui/workflows/approval`)
    await page.getByLabel('Input (JSON)').fill('{"amount": 250}')
    await page.getByRole('button', { name: 'Start run' }).click()
    await page.waitForURL(/\/ui\/runs\/[^/]+\?notice=started$/)
    // The page reloads itself once the run has reached its wait.
    await page.getByText('Waiting for event “decision” at step decision').waitFor()
    expect(await page.getByLabel('Event name').inputValue()).toBe('decision')
    await page.screenshot({ path: `${ARTIFACTS}/ui-approval-waiting.png`, fullPage: true })
    await page.getByLabel('Payload (JSON)').fill('{ "approved": "yes" }')
    await page.getByRole('button', { name: 'Send event' }).click()
    await page.locator('[role="alert"]').getByText('does not match the schema').waitFor()
    expect(await page.locator('[role="alert"] code').allTextContents()).toEqual(expect.arrayContaining(['approved', 'by']))
    expect(await page.getByLabel('Payload (JSON)').inputValue()).toBe('{ "approved": "yes" }')
    await page.getByLabel('Payload (JSON)').fill('{ "approved": true, "by": "ada" }')
    await page.getByRole('button', { name: 'Send event' }).click()
    await page.waitForURL(/notice=event-sent$/)
    await page.waitForSelector('.actions .badge[data-status="COMPLETED"]')
    expect(await page.getByLabel('Run output').textContent()).toContain('"by": "ada"')
    expect(JSON.parse((await page.getByLabel('Run output').textContent()) ?? '')).toEqual({ amount: 250, approved: true, by: 'ada' })
    expect(await page.getByRole('button', { name: 'Send event' }).count()).toBe(0)
    await page.screenshot({ path: `${ARTIFACTS}/ui-approval-completed.png`, fullPage: true })
  })

  it('signs out and is refused afterwards', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click()
    await page.waitForURL(/\/ui\/sign-in\?notice=signed-out$/)
    await page.getByText('You are signed out.').waitFor()
    expect(await context.cookies()).toEqual([])
    await page.goto(`${baseUrl}/ui/runs/${encodeURIComponent(parallelRunId)}`)
    expect(new URL(page.url()).pathname).toBe('/ui/sign-in')
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Sign in')
    expect(await page.locator('#run-dag').count()).toBe(0)
  })
})
