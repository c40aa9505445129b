/**
 * The registry (`src/registry.ts`) is the one list the deployed entries serve: what a template user puts there is
 * what the Worker's default export and the Node server list, in order. The registry is replaced here by a list
 * that differs from the examples (two of them, reordered), so an entry that bypassed it would be caught.
 */
import { afterEach, describe, expect, it, vi } from 'vitest'
import { silentLogger } from '../src/core/logger'
import { MemoryStore } from '../src/store/memory/memory-store'
import { startNodeServer, type NodeServer } from '../src/node'
import { registeredWorkflows } from '../src/registry'
import worker from '../src/worker'

vi.mock('../src/registry', async () => {
  const { conditionalWorkflow, sequentialWorkflow } = await import('../src/workflows')
  return { registeredWorkflows: [conditionalWorkflow, sequentialWorkflow] }
})

const TOKEN = 'registry-token'
let server: NodeServer | undefined

afterEach(async () => {
  await server?.close()
  server = undefined
})

async function listedIds(res: Response): Promise<string[]> {
  expect(res.status).toBe(200)
  const { workflows } = (await res.json()) as { workflows: { id: string }[] }
  return workflows.map((w) => w.id)
}

describe('registeredWorkflows', () => {
  const ids = registeredWorkflows.map((w) => w.id)

  it('stands in for the registry here', () => {
    expect(ids).toEqual(['conditional', 'sequential'])
  })

  it('is what the Worker entry serves', async () => {
    const env = { STORE: 'memory', API_TOKEN: TOKEN, LOG_LEVEL: 'silent' }
    const ctx = { waitUntil: () => {}, passThroughOnException: () => {}, props: {} }
    const res = await worker.fetch(
      new Request('http://worker.test/v1/workflows', { headers: { Authorization: `Bearer ${TOKEN}` } }),
      env,
      ctx as never,
    )
    expect(await listedIds(res)).toEqual(ids)
  })

  it('is what the Node server serves when no workflows are given', async () => {
    server = await startNodeServer({ port: 0, apiTokens: [TOKEN], store: new MemoryStore(), logger: silentLogger, sweepIntervalMs: 0 })
    const res = await fetch(`${server.url}/v1/workflows`, { headers: { Authorization: `Bearer ${TOKEN}` } })
    expect(await listedIds(res)).toEqual(ids)
  })
})
