/**
 * The composition both entries share (src/runtime/compose.ts): the store choice, and errors logged through the logger
 * in the same words whether the Worker or the Node server met them; a sweep whose webhook delivery fails still reports.
 */
import { afterEach, describe, expect, it, vi } from 'vitest'
import { jsonLogger } from '../../src/core/logger'
import type { RunFilter, RunPage } from '../../src/core/store'
import { ConfigurationError } from '../../src/runtime/env-config'
import { startNodeServer, type NodeServer } from '../../src/node'
import { composeRuntime, openStore, sweep } from '../../src/runtime/compose'
import { MemoryStore } from '../../src/store/memory/memory-store'
import { createWorker, type WorkerEnv } from '../../src/runtime/create-worker'
import { exampleWorkflows } from '../../src/workflows'
import { VirtualClock } from '../support/virtual-clock'

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

/** A store whose due-webhook listing fails as a broken driver would; runs and sweeps work. */
class FailingWebhookStore extends MemoryStore {
  override async listDueWebhooks(): Promise<string[]> {
    throw new Error('webhook listing exploded')
  }
}

describe('sweep', () => {
  it('returns and logs its result when listing the due webhooks fails, and logs that failure on its own', async () => {
    const lines: string[] = []
    const clock = new VirtualClock()
    const runtime = composeRuntime({
      store: new FailingWebhookStore(),
      workflows: exampleWorkflows,
      logger: jsonLogger('debug', (line) => void lines.push(line)),
      apiTokens: [TOKEN],
      webhooks: { secret: `whsec_${Buffer.from('gorkflow-webhook-secret-of-32-b!').toString('base64')}`, allowPrivate: true },
      executeInBackground: () => {},
      engine: { clock },
    })
    // Started leased to an engine that never executes it: due to the sweep once that lease expires.
    const { run: { runId } } = await runtime.engine.start('sequential', { val1: 1, val2: 2, mult: 3 })
    clock.advance(60_000)

    const result = await sweep(runtime, {})

    expect(result).toMatchObject({ claimed: 1, completed: 1 })
    expect((await runtime.store.getRun(runId)).status).toBe('COMPLETED')
    const events = lines.map((line) => JSON.parse(line) as Record<string, unknown>)
    expect(events.filter((e) => e.event === 'sweep_failed')).toEqual([])
    expect(events.filter((e) => e.event === 'webhooks_failed')).toEqual([
      expect.objectContaining({ level: 'error', error: 'Error: webhook listing exploded' }),
    ])
    expect(events.filter((e) => e.event === 'sweep_finished')).toEqual([
      expect.objectContaining({ level: 'info', claimed: 1, completed: 1, webhooks_attempted: 0, webhooks_delivered: 0 }),
    ])
  })
})
