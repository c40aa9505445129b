/**
 * The composition both entries share (src/runtime/compose.ts): the store choice, and errors logged through the logger
 * in the same words whether the Worker or the Node server met them.
 */
import { afterEach, describe, expect, it, vi } from 'vitest'
import { jsonLogger } from '../../src/core/logger'
import type { RunFilter, RunPage } from '../../src/core/store'
import { ConfigurationError } from '../../src/runtime/env-config'
import { startNodeServer, type NodeServer } from '../../src/node'
import { openStore } from '../../src/runtime/compose'
import { MemoryStore } from '../../src/store/memory/memory-store'
import { createWorker, type WorkerEnv } from '../../src/runtime/create-worker'
import { exampleWorkflows } from '../../src/workflows'

const TOKEN = 'runtime-token'

/** A store whose listing and sweep queries fail as a broken driver would: with a plain Error. */
class FailingStore extends MemoryStore {
  override async listRuns(_filter?: RunFilter): Promise<RunPage> {
    throw new Error('store exploded')
  }
  override async listDueRuns(): Promise<string[]> {
    throw new Error('store exploded')
  }
}

/** A logged line without what differs from one moment to the next. */
function comparable(line: string): Record<string, unknown> {
  const { time, stack, ...rest } = JSON.parse(line) as Record<string, unknown>
  expect(typeof time).toBe('string')
  expect(stack).toMatch(/^Error: store exploded\n/)
  return rest
}

let server: NodeServer | undefined
afterEach(async () => {
  await server?.close()
  server = undefined
  vi.restoreAllMocks()
})

describe('openStore', () => {
  it('opens memory itself, hands libsql its database, and names the missing DynamoDB build', async () => {
    const libsql = vi.fn(async () => new MemoryStore())
    expect(await openStore('memory', undefined, { libsql })).toBeInstanceOf(MemoryStore)
    expect(libsql).not.toHaveBeenCalled()
    await openStore('libsql', { url: 'http://127.0.0.1:1' }, { libsql })
    expect(libsql).toHaveBeenCalledWith({ url: 'http://127.0.0.1:1' })
    await expect(openStore('dynamodb', undefined, { libsql, missingDynamoDB: 'deploy the DynamoDB build' })).rejects.toThrow(
      new ConfigurationError('deploy the DynamoDB build'),
    )
  })
})

describe('errors on both entries', () => {
  it('are logged through the logger with the same event and fields by the Worker and by Node', async () => {
    const workerLines: string[] = []
    vi.spyOn(console, 'error').mockImplementation((line: string) => void workerLines.push(line))
    const worker = createWorker<WorkerEnv>({ workflows: exampleWorkflows, stores: { dynamodb: async () => new FailingStore() } })
    const env: WorkerEnv = { STORE: 'dynamodb', API_TOKEN: TOKEN, LOG_LEVEL: 'error' }
    const pending: Promise<unknown>[] = []
    const ctx = { waitUntil: (p: Promise<unknown>) => void pending.push(p), passThroughOnException: () => {}, props: {} }
    const listed = await worker.fetch(new Request('http://worker.test/v1/runs', { headers: { Authorization: `Bearer ${TOKEN}` } }), env, ctx as never)
    expect(listed.status).toBe(500)
    await worker.scheduled(undefined, env, ctx as never)
    await Promise.all(pending)

    const nodeLines: string[] = []
    server = await startNodeServer({
      port: 0,
      apiTokens: [TOKEN],
      store: new FailingStore(),
      logger: jsonLogger('error', (line) => void nodeLines.push(line)),
      sweepIntervalMs: 20,
    })
    await expect.poll(() => nodeLines.length, { timeout: 10_000, interval: 20 }).toBeGreaterThan(0)
    const res = await fetch(`${server.url}/v1/runs`, { headers: { Authorization: `Bearer ${TOKEN}` } })
    expect(res.status).toBe(500)

    const expected = [
      { level: 'error', event: 'http_unhandled_error', method: 'GET', route: '/v1/runs', error: 'Error: store exploded' },
      { level: 'error', event: 'sweep_failed', error: 'Error: store exploded' },
    ]
    const byEvent = (a: Record<string, unknown>, b: Record<string, unknown>) => String(a.event).localeCompare(String(b.event))
    expect(workerLines.map(comparable).sort(byEvent)).toEqual(expected)
    const nodeEvents = nodeLines.map(comparable)
    expect(nodeEvents.find((line) => line.event === 'http_unhandled_error')).toEqual(expected[0])
    expect(nodeEvents.find((line) => line.event === 'sweep_failed')).toEqual(expected[1])
  })
})
