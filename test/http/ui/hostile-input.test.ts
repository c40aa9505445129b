/**
 * Hostile input in the dashboard (README, "Hostile input"): bidi controls in user values cannot reorder a page,
 * `?notice=` only names the page's own notices, and the start form's resource id limit is the API's.
 */
import { describe, expect, it } from 'vitest'
import { MAX_RESOURCE_ID_LENGTH } from '../../../src/http/limits'
import { parallelWorkflow } from '../../../src/workflows'
import { createUiHarness, eventually } from '../../support/ui-harness'

const RLO = '\u202e'
const SPOOF = `acct-${RLO}1337-evil`
const SHOWN = 'acct-\u27e8U+202E\u27e91337-evil'

describe('bidi controls in user values', () => {
  it('isolates resource ids, tags and idempotency keys and shows their controls as marks', async () => {
    const h = createUiHarness([parallelWorkflow])
    const { cookie } = await h.signIn()
    const { run } = await h.engine.start(
      'parallel',
      { val1: 1, val2: 2 },
      { resourceId: SPOOF, tags: { [`own${RLO}er`]: SPOOF }, idempotencyKey: `key-\u2066${RLO}` },
    )
    const detail = await (await h.get(`/ui/runs/${run.runId}`, cookie)).text()
    const list = await (await h.get('/ui/runs', cookie)).text()
    for (const page of [detail, list]) {
      expect(page).not.toMatch(/[\u202a-\u202e\u2066-\u2069]/)
      expect(page).toContain(`<bdi>${SHOWN}</bdi>`)
    }
    expect(detail).toContain('<code><bdi>own\u27e8U+202E\u27e9er</bdi>=<bdi>acct-\u27e8U+202E\u27e91337-evil</bdi></code>')
    expect(detail).toContain('<bdi>key-\u27e8U+2066\u27e9\u27e8U+202E\u27e9</bdi>')
  })

  it('marks controls in a message that quotes the address', async () => {
    const h = createUiHarness([parallelWorkflow])
    const { cookie } = await h.signIn()
    const res = await h.get(`/ui/runs/${encodeURIComponent(SPOOF)}`, cookie)
    expect(res.status).toBe(404)
    const page = await res.text()
    expect(page).not.toContain(RLO)
    expect(page).toContain('\u27e8U+202E\u27e9')
    expect(page).toMatch(/<p><bdi>[^<]*acct-\u27e8U\+202E\u27e91337-evil/)
  })
})

describe('?notice=', () => {
  it.each(['constructor', '__proto__', 'toString', 'hasOwnProperty'])(
    'ignores the inherited name %s on the run page and the sign-in page',
    async (name) => {
      const h = createUiHarness([parallelWorkflow])
      const { cookie } = await h.signIn()
      const { run } = await h.engine.start('parallel', { val1: 1, val2: 2 })
      const runPage = await h.get(`/ui/runs/${run.runId}?notice=${name}`, cookie)
      expect(runPage.status).toBe(200)
      expect(await runPage.text()).not.toContain('class="notice" role="status"')
      const signIn = await h.get(`/ui/sign-in?notice=${name}`)
      expect(signIn.status).toBe(200)
      expect(await signIn.text()).not.toContain('class="notice" role="status"')
    },
  )

  it('still shows a notice the page has', async () => {
    const h = createUiHarness([parallelWorkflow])
    const { cookie } = await h.signIn()
    const { run } = await h.engine.start('parallel', { val1: 1, val2: 2 })
    expect(await (await h.get(`/ui/runs/${run.runId}?notice=started`, cookie)).text()).toContain('Run started.')
    expect(await (await h.get('/ui/sign-in?notice=signed-out')).text()).toContain('class="notice" role="status"')
  })
})

describe('the start form resource id', () => {
  it(`offers and accepts ${MAX_RESOURCE_ID_LENGTH} characters, the API's limit, and refuses one more`, async () => {
    const h = createUiHarness([parallelWorkflow])
    const { cookie, csrf } = await h.signIn()
    const form = await (await h.get('/ui/workflows/parallel', cookie)).text()
    expect(form).toMatch(new RegExp(`name="resourceId"[^>]*maxlength="${MAX_RESOURCE_ID_LENGTH}"`))

    const input = '{"val1": 1, "val2": 2}'
    const over = await h.post(
      '/ui/workflows/parallel/runs',
      { _csrf: csrf, input, resourceId: 'r'.repeat(MAX_RESOURCE_ID_LENGTH + 1) },
      cookie,
    )
    expect(over.status).toBe(400)
    expect(await over.text()).toContain(`longer than ${MAX_RESOURCE_ID_LENGTH} characters`)
    expect((await h.engine.listRuns()).runs).toHaveLength(0)

    const longest = await h.post(
      '/ui/workflows/parallel/runs',
      { _csrf: csrf, input, resourceId: 'r'.repeat(MAX_RESOURCE_ID_LENGTH) },
      cookie,
    )
    expect(longest.status).toBe(303)
    const runs = await eventually(async () => {
      const page = await h.engine.listRuns()
      return page.runs.length === 1 ? page.runs : undefined
    })
    expect(runs[0]?.resourceId).toHaveLength(MAX_RESOURCE_ID_LENGTH)
  })
})
