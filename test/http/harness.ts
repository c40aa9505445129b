/**
 * @module
 * Builds the HTTP app over a real engine and store for `app.request()` tests. Background executions are
 * collected so a test can wait for them instead of sleeping.
 */
import { Engine, type EngineOptions } from '../../src/core/engine'
import { createApp } from '../../src/http/app'
import type { AppOptions } from '../../src/http/options'
import type { WorkflowStore } from '../../src/core/store'
import { exampleWorkflows } from '../../src/workflows'

export const TOKEN = 'test-token-0123456789'
export const OTHER_TOKEN = 'rotated-token-abcdef'

export interface ApiHarness {
  readonly app: ReturnType<typeof createApp>
  readonly engine: Engine
  readonly store: WorkflowStore
  /** Resolves once every background execution started so far has settled. */
  settle(): Promise<void>
  /** `app.request` with the bearer token and a JSON body. */
  call(method: string, path: string, body?: unknown): Promise<Response>
  close(): Promise<void>
}

export function createHarness(
  store: WorkflowStore,
  options: Partial<Omit<AppOptions, 'engine' | 'executeInBackground'>> & { engine?: Partial<EngineOptions> } = {},
): ApiHarness {
  const { engine: engineOptions, ...appOptions } = options
  const engine = new Engine({ store, workflows: exampleWorkflows, ...engineOptions })
  const background: Promise<unknown>[] = []
  const app = createApp({
    engine,
    apiTokens: [TOKEN, OTHER_TOKEN],
    executeInBackground: (task) => void background.push(task),
    ...appOptions,
  })
  return {
    app,
    engine,
    store,
    async settle() {
      while (background.length > 0) await Promise.allSettled(background.splice(0))
    },
    call(method, path, body) {
      const headers: Record<string, string> = { Authorization: `Bearer ${TOKEN}` }
      if (body !== undefined) headers['Content-Type'] = 'application/json'
      return Promise.resolve(
        app.request(path, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) }),
      )
    },
    async close() {
      await this.settle()
      await engine.shutdown()
      await store.close()
    },
  }
}

/** Reads a JSON body with a loose type, for assertions. */
export async function json(res: Response): Promise<any> {
  return res.json()
}
