import { describe, expect, it } from 'vitest'
import { Engine } from '../../../src/core/engine'
import { createApp } from '../../../src/http/app'
import { createUiApp } from '../../../src/http/ui/ui-app'
import { MemoryStore } from '../../../src/store/memory/memory-store'
import { exampleWorkflows } from '../../../src/workflows'
import { cookieFrom } from '../../support/ui-harness'

const TOKEN = 'mount-test-token'

/** The API app with the dashboard mounted the way the entries mount it. */
function mountedApp() {
  const engine = new Engine({ store: new MemoryStore(), workflows: exampleWorkflows })
  const executeInBackground = () => {}
  const app = createApp({ engine, apiTokens: [TOKEN], executeInBackground, logError: () => {} })
  app.route('/ui', createUiApp({ engine, apiTokens: [TOKEN], logError: () => {} }))
  return { app, engine }
}

describe('dashboard mounted in the API app', () => {
  it('serves its pages under /ui while /v1 keeps bearer auth and JSON errors', async () => {
    const { app, engine } = mountedApp()
    const signIn = await app.request('http://localhost/ui/sign-in', {
      method: 'POST',
      body: new URLSearchParams({ token: TOKEN }),
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    })
    const cookie = cookieFrom(signIn) ?? ''
    const run = await engine.run('parallel', { val1: 1, val2: 2 })
    const page = await app.request(`http://localhost/ui/runs/${run.runId}`, { headers: { cookie } })
    expect(page.status).toBe(200)
    expect(page.headers.get('content-type')).toMatch(/^text\/html/)
    expect(await page.text()).toContain('data-from="start" data-to="add"')

    // The session cookie is not an API credential.
    expect((await app.request(`http://localhost/v1/runs/${run.runId}`, { headers: { cookie } })).status).toBe(401)
    const api = await app.request(`http://localhost/v1/runs/${run.runId}`, { headers: { Authorization: `Bearer ${TOKEN}` } })
    expect(api.status).toBe(200)
  })

  it('answers unknown /ui paths with its own HTML 404 and run errors with HTML pages', async () => {
    const { app } = mountedApp()
    const signIn = await app.request('http://localhost/ui/sign-in', {
      method: 'POST',
      body: new URLSearchParams({ token: TOKEN }),
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    })
    const cookie = cookieFrom(signIn) ?? ''
    for (const path of ['/ui/no-such-page', '/ui/runs/no-such-run', '/ui/workflows/no-such-workflow']) {
      const res = await app.request(`http://localhost${path}`, { headers: { cookie } })
      expect(res.status, path).toBe(404)
      expect(res.headers.get('content-type'), path).toMatch(/^text\/html/)
    }
  })
})
