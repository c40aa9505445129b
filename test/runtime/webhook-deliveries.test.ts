/**
 * Completion webhooks through the Node entry, on a LibSQL file (the retried delivery on DynamoDB Local too), to a
 * real receiver on 127.0.0.1 (allowed by WEBHOOK_ALLOW_PRIVATE): the run completes whatever the receiver answers;
 * a 500 is retried by a later sweep and the attempts show on the run; every delivery verifies with the
 * `standardwebhooks` library. Refused callback URLs are 400s that store nothing. Then `deliverDue` itself: what it
 * skips (a run gone or not due when read) and what it lets through (any other read failure).
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Webhook } from 'standardwebhooks'
import { afterEach, describe, expect, it } from 'vitest'
import { silentLogger } from '../../src/core/logger'
import { defineStep } from '../../src/core/step'
import { workflow, type AnyWorkflow } from '../../src/core/workflow'
import { exampleWorkflows } from '../../src/workflows'
import { z } from 'zod'
import { startNodeServer, type NodeServer } from '../../src/node'
import { tempDir, type TempDir } from '../support/libsql-harness'
import { bearerFetch } from '../support/local-server'
import { useDynamoDBLocal, type DynamoDBHarness } from '../support/dynamodb-harness'
import type { WorkflowStore } from '../../src/core/store'
import type { RunRecord } from '../../src/core/model'
import { WebhookDeliveries } from '../../src/runtime/webhook-deliveries'
import { MemoryStore } from '../../src/store/memory/memory-store'
import { makeRun, T0 } from '../support/fixtures'

const TOKEN = 'webhook-test-token-0123456789'
const SECRET = `whsec_${Buffer.from('gorkflow-webhook-secret-of-32-b!').toString('base64')}`

interface Received {
  readonly headers: IncomingHttpHeaders
  readonly body: string
}

let receiver: Server | undefined
let server: NodeServer | undefined
let dir: TempDir | undefined
let table: DynamoDBHarness | undefined
const dynamo = useDynamoDBLocal()

afterEach(async () => {
  await table?.cleanup()
  table = undefined
  await server?.close()
  server = undefined
  await new Promise((resolve) => (receiver ? receiver.close(resolve) : resolve(undefined)))
  receiver = undefined
  dir?.dispose()
  dir = undefined
})

/** A receiver answering the given statuses in turn (the last one from then on). */
async function startReceiver(statuses: number[]): Promise<{ url: string; received: Received[] }> {
  const received: Received[] = []
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') })
      res.statusCode = statuses[Math.min(received.length - 1, statuses.length - 1)] as number
      res.end()
    })
  })
  await new Promise<void>((resolve) => (receiver as Server).listen(0, '127.0.0.1', resolve))
  return { url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks/gorkflow`, received }
}

async function startServer(
  webhooks: { secret: string; allowPrivate: boolean } | undefined,
  workflows: readonly AnyWorkflow[] = exampleWorkflows,
  store?: WorkflowStore,
): Promise<NodeServer> {
  dir ??= tempDir('gorkflow-webhooks-')
  server = await startNodeServer({
    workflows,
    port: 0,
    apiTokens: [TOKEN],
    ...(store === undefined ? { databaseUrl: `file:${dir.file('gorkflow.db')}` } : { store }),
    logger: silentLogger,
    sweepIntervalMs: 50,
    webhookRetryMs: 50,
    ...(webhooks === undefined ? {} : { webhooks }),
  })
  return server
}

function call(s: NodeServer, method: string, path: string, body?: unknown): Promise<Response> {
  return bearerFetch(s.url, TOKEN, method, path, body)
}

/** The run's view once `done` holds for it; many sweeps at most, counted, never timed. */
async function runWhen(s: NodeServer, runId: string, done: (run: any) => boolean): Promise<any> {
  for (let polls = 0; polls < 400; polls++) {
    const { run } = (await (await call(s, 'GET', `/v1/runs/${runId}`)).json()) as { run: any }
    if (done(run)) return run
    await new Promise((r) => setTimeout(r, 25))
  }
  throw new Error('the webhook was not delivered')
}

const INPUT = { val1: 1, val2: 2, mult: 3 }

/** The stores the delivery path runs on: LibSQL's partial index and DynamoDB's sparse GSI. */
const STORES: ReadonlyArray<readonly [string, () => Promise<WorkflowStore | undefined>]> = [
  ['a LibSQL file', async () => undefined],
  [
    'DynamoDB Local',
    async () => {
      table = await dynamo.harness()
      return table.store
    },
  ],
]

describe('completion webhooks', () => {
  it.each(STORES)('delivers a signed view of the finished run, retrying a 500 durably, and the run completes regardless, on %s', async (_name, open) => {
    const hook = await startReceiver([500, 200])
    const s = await startServer({ secret: SECRET, allowPrivate: true }, exampleWorkflows, await open())
    const res = await call(s, 'POST', '/v1/workflows/sequential/runs?wait=true', { input: INPUT, callbackUrl: hook.url })
    expect(res.status).toBe(200)
    const { run } = (await res.json()) as { run: any }
    expect(run.status).toBe('COMPLETED')
    expect(run.webhook).toEqual({ url: hook.url, attempts: 0, lastStatus: null, nextAttemptAt: expect.any(String), deliveredAt: null })

    const delivered = await runWhen(s, run.runId, (r) => r.webhook.deliveredAt !== null)
    expect(delivered.status).toBe('COMPLETED')
    expect(delivered.webhook).toMatchObject({ url: hook.url, attempts: 2, lastStatus: 200, nextAttemptAt: null })
    expect(hook.received).toHaveLength(2)
    const verifier = new Webhook(SECRET)
    for (const { headers, body } of hook.received) {
      expect(headers['content-type']).toBe('application/json')
      const payload = verifier.verify(body, headers as Record<string, string>) as any
      expect(payload).toMatchObject({ type: 'run.finished', run: { runId: run.runId, status: 'COMPLETED', output: run.output } })
    }
    // One message, retried: the same webhook-id lets the receiver drop a duplicate.
    expect(hook.received.map((r) => r.headers['webhook-id'])).toEqual([`msg_${run.runId}`, `msg_${run.runId}`])
    // The failed attempt counts for operators.
    expect(await (await call(s, 'GET', '/v1/metrics')).text()).toMatch(/^gorkflow_webhook_failures_total 1$/m)
  }, 60_000)

  it("sends a workflow's default webhook for a start without a callbackUrl, and checks it like one", async () => {
    const hook = await startReceiver([200])
    const echo = defineStep({ id: 'echo', input: z.object({ n: z.number() }), output: z.object({ n: z.number() }), handler: (_ctx, x) => x })
    const hooked = workflow({ id: 'hooked', input: z.object({ n: z.number() }), webhook: { url: hook.url } }).then(echo).build()
    const s = await startServer({ secret: SECRET, allowPrivate: true }, [hooked])
    const res = await call(s, 'POST', '/v1/workflows/hooked/runs?wait=true', { input: { n: 7 } })
    const { run } = (await res.json()) as { run: any }
    expect(run).toMatchObject({ status: 'COMPLETED', webhook: { url: hook.url, attempts: 0 } })
    const delivered = await runWhen(s, run.runId, (r) => r.webhook.deliveredAt !== null)
    expect(delivered.webhook).toMatchObject({ attempts: 1, lastStatus: 200 })
    expect(hook.received).toHaveLength(1)
    expect(new Webhook(SECRET).verify(hook.received[0]?.body ?? '', hook.received[0]?.headers as Record<string, string>)).toMatchObject({
      run: { runId: run.runId, output: { n: 7 } },
    })
    await s.close()
    server = undefined
    const strict = await startServer({ secret: SECRET, allowPrivate: false }, [hooked])
    const refused = await call(strict, 'POST', '/v1/workflows/hooked/runs', { input: { n: 1 } })
    expect(refused.status).toBe(400)
    // Same database: only the first run is there.
    expect(((await (await call(strict, 'GET', '/v1/runs')).json()) as any).runs.map((r: any) => r.runId)).toEqual([run.runId])
  })

  it('refuses private targets without WEBHOOK_ALLOW_PRIVATE, malformed URLs, and a server without a secret, storing nothing', async () => {
    const strict = await startServer({ secret: SECRET, allowPrivate: false })
    for (const callbackUrl of ['http://127.0.0.1:9/x', 'http://169.254.169.254/latest', 'http://[::1]/', 'ftp://example.com/', 'nope']) {
      const res = await call(strict, 'POST', '/v1/workflows/sequential/runs', { input: INPUT, callbackUrl })
      expect(res.status).toBe(400)
      expect(((await res.json()) as any).error.code).toBe('INVALID_ARGUMENT')
    }
    expect(((await (await call(strict, 'GET', '/v1/runs')).json()) as any).runs).toEqual([])
    await strict.close()
    server = undefined
    const unsigned = await startServer(undefined)
    const res = await call(unsigned, 'POST', '/v1/workflows/sequential/runs', { input: INPUT, callbackUrl: 'https://hooks.example.com/x' })
    expect(res.status).toBe(400)
    expect(((await res.json()) as any).error.message).toContain('WEBHOOK_SECRET')
    expect(((await (await call(unsigned, 'GET', '/v1/runs')).json()) as any).runs).toEqual([])
  })
})

/** A store whose webhook listing also names runs it should not: deleted, or whose attempt was just recorded. */
class StaleListingStore extends MemoryStore {
  extra: string[] = []
  override async listDueWebhooks(now: number, limit: number): Promise<string[]> {
    return [...this.extra, ...(await super.listDueWebhooks(now, limit))]
  }
}

/** A store whose run reads fail as a broken driver would (not RUN_NOT_FOUND). */
class FailingReadStore extends MemoryStore {
  override async getRun(): Promise<RunRecord> {
    throw new Error('read exploded')
  }
}

describe('WebhookDeliveries.deliverDue', () => {
  const pending = (nextAttemptAt: number) => ({ url: '', attempts: 0, lastStatus: null, nextAttemptAt, deliveredAt: null })

  it('skips a listed run that is gone or not due when read, and sends only the due one', async () => {
    const hook = await startReceiver([200])
    const store = new StaleListingStore()
    const due = await store.createRun(makeRun({ status: 'COMPLETED', completedAt: T0, webhook: { ...pending(T0), url: hook.url } }))
    // An eventually consistent index may still list a run whose attempt another sweeper just claimed.
    const claimed = await store.createRun(makeRun({ status: 'COMPLETED', completedAt: T0, webhook: { ...pending(T0 + 60_000), url: hook.url, attempts: 1 } }))
    store.extra = ['deleted-run', claimed.run.runId]
    const deliveries = new WebhookDeliveries({ store, secret: SECRET, allowPrivate: true, logger: silentLogger, now: () => T0 + 1 })

    expect(await deliveries.deliverDue()).toEqual({ attempted: 1, delivered: 1 })
    expect(hook.received.map((r) => r.headers['webhook-id'])).toEqual([`msg_${due.run.runId}`])
    expect((await store.getRun(claimed.run.runId)).webhook).toMatchObject({ attempts: 1, lastStatus: null })
  })

  it('rejects when reading a listed run fails for another reason than RUN_NOT_FOUND', async () => {
    const store = new FailingReadStore()
    await store.createRun(makeRun({ status: 'COMPLETED', completedAt: T0, webhook: { ...pending(T0), url: 'https://hooks.example.com/x' } }))
    const deliveries = new WebhookDeliveries({ store, secret: SECRET, allowPrivate: true, logger: silentLogger, now: () => T0 + 1 })
    await expect(deliveries.deliverDue()).rejects.toThrow('read exploded')
  })
})
