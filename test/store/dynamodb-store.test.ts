/**
 * DynamoDB-specific behaviour the shared contract cannot see: requests per operation (counted on the wire),
 * item-size refusals, paging across many pages and shards, TTL on every item, lease races between separate
 * clients, error mapping, the table-creation command and the documented upgrade of an older table.
 */
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import {
  DeleteItemCommand,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  GetItemCommand,
  QueryCommand,
  CreateTableCommand,
  UpdateTableCommand,
  type AttributeValue,
} from '@aws-sdk/client-dynamodb'
import { describe, expect, it, vi } from 'vitest'
import { z } from 'zod'
import { Engine } from '../../src/core/engine'
import { defineStep } from '../../src/core/step'
import { workflow } from '../../src/core/workflow'
import type { Json, RunRecord, StepExecution } from '../../src/core/model'
import { ATTRIBUTE_DEFINITIONS, createTable, GLOBAL_SECONDARY_INDEXES } from '../../src/store/dynamodb/create-table'
import { DynamoDBStore } from '../../src/store/dynamodb/dynamodb-store'
import { idempotencyKey, runKey, runPk, slotKey } from '../../src/store/dynamodb/keys'
import type { Claim, Lease, WorkflowStore } from '../../src/core/store'
import { useDynamoDBLocal } from '../support/dynamodb-harness'
import { localClient, logCommands, uniqueTableName } from '../support/dynamodb-local'
import { makeRun, makeStep, T0 } from '../support/fixtures'
import { VirtualClock } from '../support/virtual-clock'

// Paging 250 runs sends about 450 requests and the CLI test starts npm twice: seconds on an idle machine, but
// well past the default 30 s on a loaded one.
vi.setConfig({ testTimeout: 120_000 })

const dynamo = useDynamoDBLocal()
const LEASE_MS = 30_000
const RETENTION = 3_600

/** Runs `action` and returns the DynamoDB commands it sent through the harness client. */
async function commandsOf(action: () => Promise<unknown>): Promise<string[]> {
  const log = dynamo.log()
  log.reset()
  await action()
  return [...log.commands]
}

/** A run created and claimed by `owner-a` at T0, committed RUNNING. */
async function running(store: WorkflowStore, overrides: Partial<RunRecord> = {}): Promise<{ run: RunRecord; lease: Lease }> {
  const { run } = await store.createRun(makeRun(overrides))
  const claim = await store.claimRun(run.runId, 'owner-a', T0, LEASE_MS)
  if (claim === null) throw new Error('not claimable')
  const { lease } = await store.commit(claim.lease, {
    now: T0,
    steps: [],
    run: { status: 'RUNNING', startedAt: T0 },
    leaseExpiresAt: T0 + LEASE_MS,
  })
  return { run: await store.getRun(run.runId), lease }
}

/** Every raw item of a run's partition, read directly from the table. */
async function partitionItems(tableName: string, runId: string): Promise<Record<string, AttributeValue>[]> {
  const result = await dynamo.client().send(
    new QueryCommand({
      TableName: tableName,
      KeyConditionExpression: 'PK = :pk',
      ExpressionAttributeValues: { ':pk': { S: runPk(runId) } },
      ConsistentRead: true,
    }),
  )
  return result.Items ?? []
}

async function rawItem(tableName: string, key: { PK: string; SK: string }) {
  const result = await dynamo.client().send(
    new GetItemCommand({ TableName: tableName, Key: { PK: { S: key.PK }, SK: { S: key.SK } }, ConsistentRead: true }),
  )
  return result.Item
}

const big = (bytes: number): string => 'x'.repeat(bytes)

describe('DynamoDBStore requests per operation', () => {
  it('creates a run with 1 request and claims a fresh run with 1 request', async () => {
    const { store, cleanup } = await dynamo.harness()
    try {
      const run = makeRun()
      expect(await commandsOf(() => store.createRun(run))).toEqual(['PutItemCommand'])
      expect(await commandsOf(() => store.claimRun(run.runId, 'owner-a', T0, LEASE_MS))).toEqual(['UpdateItemCommand'])
      const keyed = makeRun({ idempotencyKey: 'k' })
      expect(await commandsOf(() => store.createRun(keyed))).toEqual(['TransactWriteItemsCommand'])
      // A repeated idempotent start: the guard's old item names the run, which is then read.
      const again = makeRun({ idempotencyKey: 'k' })
      expect(await commandsOf(() => store.createRun(again))).toEqual(['TransactWriteItemsCommand', 'GetItemCommand'])
    } finally {
      await cleanup()
    }
  })

  it('keeps a completion webhook at no extra request: created and ended as without one, listed by 4 Queries, 1 write per attempt', async () => {
    const { store, cleanup } = await dynamo.harness()
    try {
      const webhook = { url: 'https://hooks.example.com/x', attempts: 0, lastStatus: null, nextAttemptAt: T0, deliveredAt: null }
      const run = makeRun({ webhook })
      expect(await commandsOf(() => store.createRun(run))).toEqual(['PutItemCommand'])
      const claim = await store.claimRun(run.runId, 'owner-a', T0, LEASE_MS)
      if (claim === null) throw new Error('not claimable')
      // Not listed while open: the index needs completedAt, which only the terminal write sets.
      expect(await store.listDueWebhooks(T0 + 1, 10)).toEqual([])
      const ending = await commandsOf(() =>
        store.commit(claim.lease, {
          now: T0 + 1,
          steps: [],
          run: { status: 'COMPLETED', progress: 1, output: 1, completedAt: T0 + 1 },
          leaseExpiresAt: null,
        }),
      )
      expect(ending).toEqual(['UpdateItemCommand'])
      const listing = await commandsOf(() => store.listDueWebhooks(T0 + 1, 10))
      expect(listing).toEqual(['QueryCommand', 'QueryCommand', 'QueryCommand', 'QueryCommand'])
      expect(await store.listDueWebhooks(T0 + 1, 10)).toEqual([run.runId])
      const claimed = { ...webhook, attempts: 1, nextAttemptAt: T0 + 10_000 }
      expect(await commandsOf(() => store.recordWebhookAttempt(run.runId, 0, claimed))).toEqual(['UpdateItemCommand'])
      const given = { ...claimed, lastStatus: 500, nextAttemptAt: null }
      expect(await store.recordWebhookAttempt(run.runId, 1, given)).toBe(true)
      // Given up: out of the index for good, the state kept on the run.
      expect(await store.listDueWebhooks(T0 + 1_000_000, 10)).toEqual([])
      expect((await store.getRun(run.runId)).webhook).toEqual(given)
    } finally {
      await cleanup()
    }
  })

  it('commits in exactly 1 request, with or without steps', async () => {
    const { store, cleanup } = await dynamo.harness()
    try {
      const { run, lease } = await running(store)
      const progress = await commandsOf(() =>
        store.commit(lease, { now: T0 + 1, steps: [], run: { progress: 0.5 }, leaseExpiresAt: T0 + LEASE_MS }),
      )
      expect(progress).toEqual(['UpdateItemCommand'])
      const steps = [0, 1, 2].map((i) =>
        makeStep({ runId: run.runId, stepId: `s${i}`, executionIndex: i, status: 'COMPLETED', output: { i } }),
      )
      const withSteps = await commandsOf(() =>
        store.commit(lease, { now: T0 + 2, steps, run: { progress: 0.75 }, leaseExpiresAt: T0 + LEASE_MS }),
      )
      expect(withSteps).toEqual(['TransactWriteItemsCommand'])
      const final = await commandsOf(() =>
        store.commit(lease, {
          now: T0 + 3,
          steps: [makeStep({ runId: run.runId, stepId: 's3', executionIndex: 3, status: 'COMPLETED', output: 3 })],
          run: { status: 'COMPLETED', progress: 1, output: 3, completedAt: T0 + 3 },
          leaseExpiresAt: null,
        }),
      )
      expect(final).toEqual(['TransactWriteItemsCommand'])
      expect(await store.getRun(run.runId)).toMatchObject({ status: 'COMPLETED', output: 3, leaseOwner: null })
    } finally {
      await cleanup()
    }
  })

  it('claims a run that has steps in 2 requests (UpdateItem, then Query of its steps)', async () => {
    const { store, cleanup } = await dynamo.harness()
    try {
      const { run, lease } = await running(store)
      const step = makeStep({ runId: run.runId, status: 'COMPLETED', output: 1 })
      await store.commit(lease, { now: T0 + 1, steps: [step], run: {}, leaseExpiresAt: null })
      let steps: StepExecution[] = []
      const sent = await commandsOf(async () => {
        steps = (await store.claimRun(run.runId, 'owner-b', T0 + 2, LEASE_MS))?.steps ?? []
      })
      expect(sent).toEqual(['UpdateItemCommand', 'QueryCommand'])
      expect(steps).toEqual([step])
    } finally {
      await cleanup()
    }
  })

  it('cancels in 2 requests when no step is open, 3 when steps must be cancelled', async () => {
    const { store, cleanup } = await dynamo.harness()
    try {
      const idle = await store.createRun(makeRun())
      expect(await commandsOf(() => store.cancelRun(idle.run.runId, T0 + 1))).toEqual([
        'UpdateItemCommand',
        'QueryCommand',
      ])
      const { run, lease } = await running(store)
      const open = [0, 1].map((i) => makeStep({ runId: run.runId, stepId: `s${i}`, executionIndex: i, status: 'RUNNING' }))
      await store.commit(lease, { now: T0 + 1, steps: open, run: {}, leaseExpiresAt: T0 + LEASE_MS })
      expect(await commandsOf(() => store.cancelRun(run.runId, T0 + 2))).toEqual([
        'UpdateItemCommand',
        'QueryCommand',
        'TransactWriteItemsCommand',
      ])
      expect((await store.listStepExecutions(run.runId)).map((s) => s.status)).toEqual(['CANCELLED', 'CANCELLED'])
    } finally {
      await cleanup()
    }
  })

  it('with retention, ends a run in 3 requests: commit, Query of its items, one transaction stamping ttl', async () => {
    const { store, cleanup } = await dynamo.harness({ retentionSeconds: RETENTION })
    try {
      const { run, lease } = await running(store, { idempotencyKey: 'once' })
      const steps = [0, 1, 2].map((i) =>
        makeStep({ runId: run.runId, stepId: `s${i}`, executionIndex: i, status: 'COMPLETED', output: i }),
      )
      await store.commit(lease, { now: T0 + 1, steps, run: {}, leaseExpiresAt: T0 + LEASE_MS })
      await store.saveState(run.runId, 'k', 1, T0 + 1)
      const sent = await commandsOf(() =>
        store.commit(lease, {
          now: T0 + 2,
          steps: [],
          run: { status: 'COMPLETED', progress: 1, completedAt: T0 + 2 },
          leaseExpiresAt: null,
        }),
      )
      expect(sent).toEqual(['UpdateItemCommand', 'QueryCommand', 'TransactWriteItemsCommand'])
      const cancelled = await store.createRun(makeRun())
      expect(await commandsOf(() => store.cancelRun(cancelled.run.runId, T0 + 3))).toEqual([
        'UpdateItemCommand',
        'QueryCommand',
        'TransactWriteItemsCommand',
      ])
    } finally {
      await cleanup()
    }
  })

  it('lists with Queries and one BatchGetItem per page for every filter combination', async () => {
    const { store, cleanup } = await dynamo.harness()
    try {
      for (let i = 0; i < 6; i++) {
        await store.createRun(
          makeRun({ workflowId: `wf-${i % 2}`, resourceId: i % 3 === 0 ? null : `r-${i % 3}`, createdAt: T0 + i }),
        )
      }
      const filters = [
        {},
        { workflowId: 'wf-0' },
        { status: 'PENDING' as const },
        { resourceId: 'r-1' },
        { workflowId: 'wf-1', status: 'PENDING' as const },
        { workflowId: 'wf-1', resourceId: 'r-1' },
        { status: 'PENDING' as const, resourceId: 'r-2' },
        { workflowId: 'wf-0', status: 'PENDING' as const, resourceId: 'r-2' },
      ]
      for (const filter of filters) {
        const sent = await commandsOf(() => store.listRuns(filter))
        expect(new Set(sent)).toEqual(new Set(['QueryCommand', 'BatchGetItemCommand']))
        expect(sent.filter((c) => c === 'BatchGetItemCommand')).toHaveLength(1)
      }
      expect(await commandsOf(() => store.listDueRuns(T0, 10))).toEqual(Array(4).fill('QueryCommand'))
    } finally {
      await cleanup()
    }
  })
})

describe('DynamoDBStore under the engine', () => {
  const num = z.object({ n: z.number() })
  const N = 5
  const inc = (id: string) =>
    defineStep({ id, input: num, output: num, handler: (_ctx, { n }: { n: number }) => ({ n: n + 1 }) })
  const chain = () => {
    let builder = workflow({ id: 'chain', input: num }).then(inc('s0'))
    for (let i = 1; i < N; i++) builder = builder.then(inc(`s${i}`))
    return builder.build()
  }

  it(`runs a ${N}-step sequential workflow in N + 1 DynamoDB requests, N + 3 with retention`, async () => {
    for (const retentionSeconds of [undefined, RETENTION]) {
      const { store, cleanup } = await dynamo.harness(retentionSeconds === undefined ? {} : { retentionSeconds })
      const engine = new Engine({ store, workflows: [chain()], clock: new VirtualClock(), random: () => 0.5 })
      try {
        let output: unknown
        const sent = await commandsOf(async () => {
          output = (await engine.run('chain', { n: 0 })).output
        })
        expect(output).toEqual({ n: N })
        // createRun with the first step started (one transaction), then one commit per step: each step's result
        // with the next step's start, and the last one's with the run's completion.
        const expected = Array<string>(N + 1).fill('TransactWriteItemsCommand')
        if (retentionSeconds !== undefined) expected.push('QueryCommand', 'TransactWriteItemsCommand')
        expect(sent).toEqual(expected)
      } finally {
        await engine.shutdown()
        await cleanup()
      }
    }
  })
})

describe('DynamoDBStore item size', () => {
  const MAX = 10_000

  it('refuses a run over maxItemBytes with PAYLOAD_TOO_LARGE before sending anything', async () => {
    const { store, cleanup } = await dynamo.harness({ maxItemBytes: MAX })
    try {
      const run = makeRun({ input: { blob: big(MAX) } })
      const sent = await commandsOf(() =>
        expect(store.createRun(run)).rejects.toMatchObject({ code: 'PAYLOAD_TOO_LARGE', details: { limit: MAX } }),
      )
      expect(sent).toEqual([])
      await expect(store.getRun(run.runId)).rejects.toMatchObject({ code: 'RUN_NOT_FOUND' })
      // Multi-byte characters count by their UTF-8 size: 3,400 × 3 bytes is over 10,000.
      await expect(store.createRun(makeRun({ input: '日'.repeat(3_400) }))).rejects.toMatchObject({
        code: 'PAYLOAD_TOO_LARGE',
      })
    } finally {
      await cleanup()
    }
  })

  it('refuses a commit with an oversized step and writes none of it', async () => {
    const { store, cleanup } = await dynamo.harness({ maxItemBytes: MAX })
    try {
      const { run, lease } = await running(store)
      const before = await store.getRun(run.runId)
      const small = makeStep({ runId: run.runId, stepId: 'small', status: 'COMPLETED', output: 1 })
      const huge = makeStep({ runId: run.runId, stepId: 'huge', executionIndex: 1, status: 'COMPLETED', output: big(MAX) })
      const sent = await commandsOf(() =>
        expect(
          store.commit(lease, { now: T0 + 1, steps: [small, huge], run: { progress: 1 }, leaseExpiresAt: T0 + LEASE_MS }),
        ).rejects.toMatchObject({ code: 'PAYLOAD_TOO_LARGE' }),
      )
      expect(sent).toEqual([])
      expect(await store.getRun(run.runId)).toEqual(before)
      expect(await store.listStepExecutions(run.runId)).toEqual([])
    } finally {
      await cleanup()
    }
  })

  it('refuses a run output that would push the run item over the limit, leaving the run unchanged', async () => {
    const { store, cleanup } = await dynamo.harness({ maxItemBytes: MAX })
    try {
      // 6 KB of input is stored; 5 KB of output fits on its own but not beside it.
      const { run, lease } = await running(store, { input: big(6_000) })
      const before = await store.getRun(run.runId)
      await expect(
        store.commit(lease, {
          now: T0 + 1,
          steps: [],
          run: { status: 'COMPLETED', output: big(5_000), completedAt: T0 + 1 },
          leaseExpiresAt: null,
        }),
      ).rejects.toMatchObject({ code: 'PAYLOAD_TOO_LARGE' })
      expect(await store.getRun(run.runId)).toEqual(before)
      // The same output with a step in the commit is refused by the same condition inside the transaction.
      const step = makeStep({ runId: run.runId, status: 'COMPLETED', output: 1 })
      await expect(
        store.commit(lease, { now: T0 + 1, steps: [step], run: { output: big(5_000) }, leaseExpiresAt: T0 + LEASE_MS }),
      ).rejects.toMatchObject({ code: 'PAYLOAD_TOO_LARGE' })
      expect(await store.listStepExecutions(run.runId)).toEqual([])
      // A smaller output fits.
      await store.commit(lease, { now: T0 + 2, steps: [], run: { output: big(2_000) }, leaseExpiresAt: T0 + LEASE_MS })
      expect((await store.getRun(run.runId)).output).toHaveLength(2_000)
    } finally {
      await cleanup()
    }
  })

  it('refuses an oversized state value before sending anything', async () => {
    const { store, cleanup } = await dynamo.harness({ maxItemBytes: MAX })
    try {
      const { run } = await store.createRun(makeRun())
      const sent = await commandsOf(() =>
        expect(store.saveState(run.runId, 'k', big(MAX), T0)).rejects.toMatchObject({ code: 'PAYLOAD_TOO_LARGE' }),
      )
      expect(sent).toEqual([])
      expect(await store.getAllState(run.runId)).toEqual({})
    } finally {
      await cleanup()
    }
  })

  it('stores 300 KB payloads under the default limit and refuses 360 KB ones', async () => {
    const { store, cleanup } = await dynamo.harness()
    try {
      const { run, lease } = await running(store)
      const output = big(300_000)
      await store.commit(lease, {
        now: T0 + 1,
        steps: [makeStep({ runId: run.runId, status: 'COMPLETED', output })],
        run: {},
        leaseExpiresAt: T0 + LEASE_MS,
      })
      expect(await store.loadStepOutput(run.runId, 'step-1')).toBe(output)
      await expect(store.createRun(makeRun({ input: big(360_000) }))).rejects.toMatchObject({ code: 'PAYLOAD_TOO_LARGE' })
    } finally {
      await cleanup()
    }
  })

  it("maps DynamoDB's own 400 KB refusal to PAYLOAD_TOO_LARGE and writes nothing", async () => {
    // With the limit at DynamoDB's maximum, an error left by an earlier commit plus a new output can exceed
    // 400 KB although each fits: DynamoDB refuses the whole update, which must surface as the same typed error.
    const { store, cleanup } = await dynamo.harness({ maxItemBytes: 409_600 })
    try {
      const { run, lease } = await running(store)
      const error = { code: 'X', message: big(250_000), step: null, timestamp: T0 }
      await store.commit(lease, { now: T0 + 1, steps: [], run: { error }, leaseExpiresAt: T0 + LEASE_MS })
      const before = await store.getRun(run.runId)
      await expect(
        store.commit(lease, { now: T0 + 2, steps: [], run: { output: big(250_000) }, leaseExpiresAt: T0 + LEASE_MS }),
      ).rejects.toMatchObject({ code: 'PAYLOAD_TOO_LARGE' })
      expect(await store.getRun(run.runId)).toEqual(before)
    } finally {
      await cleanup()
    }
  })

  it('refuses a commit of more than 99 steps with INVALID_ARGUMENT', async () => {
    const { store, cleanup } = await dynamo.harness()
    try {
      const { run, lease } = await running(store)
      const steps = Array.from({ length: 100 }, (_, i) => makeStep({ runId: run.runId, stepId: `s${i}`, executionIndex: i }))
      await expect(store.commit(lease, { now: T0 + 1, steps, run: {}, leaseExpiresAt: T0 + LEASE_MS })).rejects.toMatchObject({
        code: 'INVALID_ARGUMENT',
      })
      expect(await store.listStepExecutions(run.runId)).toEqual([])
    } finally {
      await cleanup()
    }
  })
})

describe('DynamoDBStore paging', () => {
  it('pages through 250 runs with limit 7 across every shard, each run once, newest first', async () => {
    const { store, cleanup } = await dynamo.harness()
    try {
      const created: RunRecord[] = []
      // Three runs per millisecond, so page boundaries fall inside createdAt ties.
      const runs = Array.from({ length: 250 }, (_, i) =>
        makeRun({
          runId: `run-${String(i).padStart(3, '0')}`,
          createdAt: T0 + Math.floor(i / 3),
          workflowId: i % 2 === 0 ? 'even' : 'odd',
          status: i % 5 === 0 ? 'COMPLETED' : 'PENDING',
          completedAt: i % 5 === 0 ? T0 : null,
        }),
      )
      for (let i = 0; i < runs.length; i += 25) {
        created.push(...(await Promise.all(runs.slice(i, i + 25).map(async (run) => (await store.createRun(run)).run))))
      }
      const newestFirst = (list: RunRecord[]) =>
        list
          .slice()
          .sort((a, b) => b.createdAt - a.createdAt || (a.runId < b.runId ? 1 : -1))
          .map((r) => r.runId)

      const pageAll = async (filter: Parameters<WorkflowStore['listRuns']>[0]) => {
        const seen: string[] = []
        let cursor: string | null = null
        let pages = 0
        do {
          const page = await store.listRuns({ ...filter, limit: 7, cursor })
          expect(page.runs.length).toBeLessThanOrEqual(7)
          seen.push(...page.runs.map((r) => r.runId))
          cursor = page.nextCursor
          pages++
        } while (cursor !== null && pages < 100)
        return { seen, pages }
      }

      const all = await pageAll({})
      expect(all.pages).toBe(Math.ceil(250 / 7))
      expect(all.seen).toEqual(newestFirst(created))

      const pending = await pageAll({ status: 'PENDING' })
      expect(pending.seen).toEqual(newestFirst(created.filter((r) => r.status === 'PENDING')))
      expect(pending.pages).toBe(Math.ceil(200 / 7))

      const even = await pageAll({ workflowId: 'even' })
      expect(even.seen).toEqual(newestFirst(created.filter((r) => r.workflowId === 'even')))

      const evenDone = await pageAll({ workflowId: 'even', status: 'COMPLETED' })
      expect(evenDone.seen).toEqual(newestFirst(created.filter((r) => r.workflowId === 'even' && r.status === 'COMPLETED')))
    } finally {
      await cleanup()
    }
  })

  it('pages a filtered pair (workflow and resource) that has no index of its own', async () => {
    const { store, cleanup } = await dynamo.harness()
    try {
      const created: RunRecord[] = []
      for (let i = 0; i < 60; i++) {
        // One run in ten matches: pages must keep reading until they are full.
        const run = makeRun({ resourceId: 'customer-1', workflowId: i % 10 === 0 ? 'wanted' : 'other', createdAt: T0 + i })
        created.push((await store.createRun(run)).run)
      }
      const first = await store.listRuns({ workflowId: 'wanted', resourceId: 'customer-1', limit: 4 })
      const second = await store.listRuns({ workflowId: 'wanted', resourceId: 'customer-1', limit: 4, cursor: first.nextCursor })
      const wanted = created.filter((r) => r.workflowId === 'wanted').reverse()
      expect(first.runs).toEqual(wanted.slice(0, 4))
      expect(second.runs).toEqual(wanted.slice(4))
      expect(second.nextCursor).toBeNull()
    } finally {
      await cleanup()
    }
  })

  it('lists due runs oldest first across shards, ties by creation time', async () => {
    const { store, cleanup } = await dynamo.harness()
    try {
      const runs = Array.from({ length: 40 }, (_, i) =>
        makeRun({ runId: `due-${i}`, createdAt: T0 + ((i * 7) % 40), status: i % 2 === 0 ? 'PENDING' : 'RUNNING' }),
      )
      for (const run of runs) await store.createRun(run)
      const expected = runs
        .slice()
        .sort((a, b) => a.createdAt - b.createdAt)
        .map((r) => r.runId)
      expect(await store.listDueRuns(T0, 15)).toEqual(expected.slice(0, 15))
      expect(await store.listDueRuns(T0, 1000)).toEqual(expected)
    } finally {
      await cleanup()
    }
  })

  it('does not list a run whose wake time, set earlier under the same lease, is still ahead', async () => {
    const { store, cleanup } = await dynamo.harness()
    try {
      const { run, lease } = await running(store)
      await store.commit(lease, { now: T0 + 1, steps: [], run: { wakeAt: T0 + 60_000 }, leaseExpiresAt: T0 + LEASE_MS })
      // This commit leaves wakeAt alone and releases the lease; the index key alone would call the run due.
      await store.commit(lease, { now: T0 + 2, steps: [], run: { progress: 0.1 }, leaseExpiresAt: null })
      expect(await store.listDueRuns(T0 + 3, 10)).toEqual([])
      expect(await store.listDueRuns(T0 + 60_000, 10)).toEqual([run.runId])
    } finally {
      await cleanup()
    }
  })
})

describe('DynamoDBStore retention', () => {
  /** Asserts that every item of the run, and its idempotency guard, carries `ttl`. */
  async function expectTtlEverywhere(tableName: string, run: RunRecord, ttl: number, count: number) {
    const items = await partitionItems(tableName, run.runId)
    expect(items).toHaveLength(count)
    for (const item of items) expect({ sk: item.SK?.S, ttl: item.ttl?.N }).toEqual({ sk: item.SK?.S, ttl: String(ttl) })
    if (run.idempotencyKey !== null) {
      const guard = await rawItem(tableName, idempotencyKey(run.workflowId, run.idempotencyKey))
      expect(guard?.ttl?.N).toBe(String(ttl))
    }
  }

  it('sets ttl on the run, every step and state item and the idempotency guard when the run completes', async () => {
    const { store, tableName, cleanup } = await dynamo.harness({ retentionSeconds: RETENTION })
    try {
      const { run, lease } = await running(store, { idempotencyKey: 'order-1' })
      const steps = [0, 1].map((i) =>
        makeStep({ runId: run.runId, stepId: `s${i}`, executionIndex: i, status: 'COMPLETED', output: i }),
      )
      await store.commit(lease, { now: T0 + 1, steps, run: { progress: 0.5 }, leaseExpiresAt: T0 + LEASE_MS })
      await store.saveState(run.runId, 'a', 1, T0 + 1)
      await store.saveState(run.runId, 'b', 2, T0 + 1)
      // Nothing expires while the run is alive.
      for (const item of await partitionItems(tableName, run.runId)) expect(item.ttl).toBeUndefined()

      const completedAt = T0 + 5_500
      await store.commit(lease, {
        now: completedAt,
        steps: [makeStep({ runId: run.runId, stepId: 's2', executionIndex: 2, status: 'COMPLETED', output: 2 })],
        run: { status: 'COMPLETED', progress: 1, output: 2, completedAt },
        leaseExpiresAt: null,
      })
      // run + 3 steps + 2 state keys
      await expectTtlEverywhere(tableName, run, Math.floor(completedAt / 1000) + RETENTION, 6)
      // The record itself is unchanged by the stamping.
      expect(await store.getRun(run.runId)).toMatchObject({ status: 'COMPLETED', output: 2, completedAt })
    } finally {
      await cleanup()
    }
  })

  it('sets ttl on every item of a cancelled run, and cancels its open steps in the same write', async () => {
    const { store, tableName, cleanup } = await dynamo.harness({ retentionSeconds: RETENTION })
    try {
      const { run, lease } = await running(store, { idempotencyKey: 'order-2' })
      const steps = [
        makeStep({ runId: run.runId, stepId: 'done', status: 'COMPLETED', output: 1 }),
        makeStep({ runId: run.runId, stepId: 'busy', executionIndex: 1, status: 'RUNNING' }),
      ]
      await store.commit(lease, { now: T0 + 1, steps, run: {}, leaseExpiresAt: T0 + LEASE_MS })
      await store.saveState(run.runId, 'k', 'v', T0 + 1)
      await store.cancelRun(run.runId, T0 + 9_000)
      await expectTtlEverywhere(tableName, run, Math.floor((T0 + 9_000) / 1000) + RETENTION, 4)
      expect((await store.listStepExecutions(run.runId)).map((s) => [s.stepId, s.status])).toEqual([
        ['done', 'COMPLETED'],
        ['busy', 'CANCELLED'],
      ])
    } finally {
      await cleanup()
    }
  })

  it('stamps ttl on runs with more children than one transaction holds', async () => {
    const { store, tableName, cleanup } = await dynamo.harness({ retentionSeconds: RETENTION })
    try {
      const { run, lease } = await running(store)
      for (let i = 0; i < 150; i += 25) {
        await Promise.all(Array.from({ length: 25 }, (_, j) => store.saveState(run.runId, `k${i + j}`, i + j, T0)))
      }
      const sent = await commandsOf(() =>
        store.commit(lease, { now: T0 + 1_000, steps: [], run: { status: 'FAILED', completedAt: T0 + 1_000 }, leaseExpiresAt: null }),
      )
      // commit, Query, 2 transactions (100 + 50 state items and the run item last)
      expect(sent).toEqual(['UpdateItemCommand', 'QueryCommand', 'TransactWriteItemsCommand', 'TransactWriteItemsCommand'])
      await expectTtlEverywhere(tableName, run, Math.floor((T0 + 1_000) / 1000) + RETENTION, 151)
    } finally {
      await cleanup()
    }
  })

  it('sets no ttl without retention', async () => {
    const { store, tableName, cleanup } = await dynamo.harness()
    try {
      const { run, lease } = await running(store)
      await store.saveState(run.runId, 'k', 1, T0)
      await store.commit(lease, {
        now: T0 + 1,
        steps: [makeStep({ runId: run.runId, status: 'COMPLETED', output: 1 })],
        run: { status: 'COMPLETED', completedAt: T0 + 1 },
        leaseExpiresAt: null,
      })
      for (const item of await partitionItems(tableName, run.runId)) expect(item.ttl).toBeUndefined()
    } finally {
      await cleanup()
    }
  })

  it('reports follow-up failures to onFollowUpError while the commit itself succeeds', async () => {
    const { store, tableName, cleanup } = await dynamo.harness()
    const errors: string[] = []
    // A second store on the same table, whose client fails every request after the commit.
    const client = localClient(dynamo.local().endpoint)
    let failAfterFirst = 0
    client.middlewareStack.add(
      (next) => async (args) => {
        if (failAfterFirst++ >= 1) throw Object.assign(new Error('network down'), { name: 'TimeoutError' })
        return next(args)
      },
      { step: 'initialize', name: 'failAfterFirst' },
    )
    const flaky = new DynamoDBStore({
      client,
      tableName,
      retentionSeconds: RETENTION,
      onFollowUpError: (error, runId) => errors.push(`${runId}: ${error.message}`),
    })
    try {
      const { run, lease } = await running(store)
      await flaky.commit(lease, { now: T0 + 1, steps: [], run: { status: 'COMPLETED', completedAt: T0 + 1 }, leaseExpiresAt: null })
      expect(await store.getRun(run.runId)).toMatchObject({ status: 'COMPLETED' })
      expect(errors).toHaveLength(1)
      expect(errors[0]).toContain(run.runId)
      // Nothing got a ttl: no item can expire before its run.
      for (const item of await partitionItems(tableName, run.runId)) expect(item.ttl).toBeUndefined()
    } finally {
      client.destroy()
      await cleanup()
    }
  })
})

describe('DynamoDBStore leases and idempotency', () => {
  it('grants the lease to exactly one of 8 engines claiming at once through their own clients', async () => {
    const { store, tableName, cleanup } = await dynamo.harness()
    const clients = Array.from({ length: 8 }, () => localClient(dynamo.local().endpoint))
    try {
      for (let round = 0; round < 5; round++) {
        const { run } = await store.createRun(makeRun())
        const engines = clients.map((client) => new DynamoDBStore({ client, tableName }))
        const claims = await Promise.all(engines.map((engine, i) => engine.claimRun(run.runId, `engine-${i}`, T0, LEASE_MS)))
        const winners = claims.filter((claim) => claim !== null)
        expect(winners).toHaveLength(1)
        expect((await store.getRun(run.runId)).leaseOwner).toBe(winners[0]?.lease.owner)
      }
    } finally {
      for (const client of clients) client.destroy()
      await cleanup()
    }
  })

  it('lets exactly one of 8 concurrent commits through when each holds a lease it thinks is live', async () => {
    const { store, tableName, cleanup } = await dynamo.harness()
    const clients = Array.from({ length: 8 }, () => localClient(dynamo.local().endpoint))
    try {
      const { run } = await store.createRun(makeRun())
      const engines = clients.map((client) => new DynamoDBStore({ client, tableName }))
      // Each engine claims after the previous lease expired, so only the last one still holds the lease.
      const leases: Lease[] = []
      for (const [i, engine] of engines.entries()) {
        const claim = await engine.claimRun(run.runId, `engine-${i}`, T0 + i * 1_000, 1_000)
        if (claim === null) throw new Error('claim failed')
        leases.push(claim.lease)
      }
      const results = await Promise.allSettled(
        engines.map((engine, i) =>
          engine.commit(leases[i] as Lease, {
            now: T0 + 10_000,
            steps: [makeStep({ runId: run.runId, stepId: `by-${i}`, status: 'COMPLETED', output: i })],
            run: { status: 'COMPLETED', completedAt: T0 + 10_000 },
            leaseExpiresAt: null,
          }),
        ),
      )
      const fulfilled = results.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []))
      expect(fulfilled).toEqual([7])
      // A stale commit that arrives after the winner finished the run learns that the run is over.
      for (const r of results) {
        if (r.status === 'rejected') expect(['LEASE_LOST', 'RUN_ALREADY_FINISHED']).toContain((r.reason as { code: string }).code)
      }
      expect((await store.listStepExecutions(run.runId)).map((s) => s.stepId)).toEqual(['by-7'])
    } finally {
      for (const client of clients) client.destroy()
      await cleanup()
    }
  })

  it('replaces an idempotency guard whose run has already expired', async () => {
    const { store, tableName, cleanup } = await dynamo.harness()
    try {
      const { run } = await store.createRun(makeRun({ idempotencyKey: 'k' }))
      // TTL deletes items in no particular order: the run may go before its guard.
      const key = runKey(run.runId)
      await dynamo
        .client()
        .send(new DeleteItemCommand({ TableName: tableName, Key: { PK: { S: key.PK }, SK: { S: key.SK } } }))
      const next = makeRun({ idempotencyKey: 'k' })
      expect(await store.createRun(next)).toEqual({ run: next, created: true })
      expect(await store.createRun(makeRun({ idempotencyKey: 'k' }))).toEqual({ run: next, created: false })
    } finally {
      await cleanup()
    }
  })
})

describe('DynamoDBStore waits, pause, events and retry links', () => {
  it('pauses and resumes in 1 UpdateItem each, moving the due time out of the due index and back', async () => {
    const { store, tableName, cleanup } = await dynamo.harness()
    try {
      const { run, lease } = await running(store)
      await store.commit(lease, { now: T0 + 1, steps: [], run: { wakeAt: T0 + 50_000 }, leaseExpiresAt: null })
      const pause = () => store.transitionRun(run.runId, { from: ['PENDING', 'RUNNING'], to: 'PAUSED', now: T0 + 2 })
      expect(await commandsOf(pause)).toEqual(['UpdateItemCommand'])
      let item = await rawItem(tableName, runKey(run.runId))
      expect(item?.dueAt).toBeUndefined()
      expect(item?.parkedDueAt).toEqual({ N: String(T0 + 50_000) })
      const resume = () => store.transitionRun(run.runId, { from: ['PAUSED'], to: 'RUNNING', now: T0 + 3 })
      expect(await commandsOf(resume)).toEqual(['UpdateItemCommand'])
      item = await rawItem(tableName, runKey(run.runId))
      expect(item?.dueAt).toEqual({ N: String(T0 + 50_000) })
      expect(item?.parkedDueAt).toBeUndefined()
      expect(await store.listDueRuns(T0 + 49_999, 10)).toEqual([])
      expect(await store.listDueRuns(T0 + 50_000, 10)).toEqual([run.runId])
      // `from` mixing both kinds of status: the first guess (PENDING/RUNNING) is wrong for a PAUSED run.
      await store.transitionRun(run.runId, { from: ['RUNNING'], to: 'PAUSED', now: T0 + 4 })
      const mixed = () => store.transitionRun(run.runId, { from: ['PENDING', 'PAUSED'], to: 'RUNNING', now: T0 + 5 })
      expect(await commandsOf(mixed)).toEqual(['UpdateItemCommand', 'UpdateItemCommand'])
      expect(await store.listDueRuns(T0 + 50_000, 10)).toEqual([run.runId])
      await expect(
        store.transitionRun(run.runId, { from: ['RUNNING'], to: 'CANCELLED', now: T0 + 6 }),
      ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' })
    } finally {
      await cleanup()
    }
  })

  it('commits on a PAUSED run in 2 requests (the status guess is refused) and keeps it out of the due index', async () => {
    const { store, tableName, cleanup } = await dynamo.harness()
    // The operator pauses through its own store: the engine's store still believes the run is PENDING.
    const operator = new DynamoDBStore({ client: dynamo.client(), tableName })
    try {
      const { run } = await store.createRun(makeRun())
      const claim = await store.claimRun(run.runId, 'owner-a', T0, LEASE_MS)
      if (claim === null) throw new Error('not claimable')
      await operator.transitionRun(run.runId, { from: ['PENDING'], to: 'PAUSED', now: T0 + 1 })
      let status: string | undefined
      const sent = await commandsOf(async () => {
        ;({ status } = await store.commit(claim.lease, {
          now: T0 + 2,
          steps: [],
          run: { status: 'RUNNING', startedAt: T0 + 2 },
          leaseExpiresAt: null,
        }))
      })
      expect(sent).toEqual(['UpdateItemCommand', 'UpdateItemCommand'])
      expect(status).toBe('PAUSED')
      const item = await rawItem(tableName, runKey(run.runId))
      expect(item?.runStatus).toEqual({ S: 'PAUSED' })
      expect(item?.dueAt).toBeUndefined()
      expect(item?.parkedDueAt).toEqual({ N: '0' })
      expect(await store.listDueRuns(T0 + LEASE_MS * 10, 10)).toEqual([])
      // Now this store knows the run is PAUSED: its next commit is right the first time.
      const again = await store.claimRun(run.runId, 'owner-a', T0 + 3, LEASE_MS)
      expect(again).toBeNull()
      await operator.transitionRun(run.runId, { from: ['PAUSED'], to: 'RUNNING', now: T0 + 3 })
      expect(await store.listDueRuns(T0 + 3, 10)).toEqual([run.runId])
      const resumed = await store.claimRun(run.runId, 'owner-a', T0 + 4, LEASE_MS)
      if (resumed === null) throw new Error('not claimable')
      await store.transitionRun(run.runId, { from: ['RUNNING'], to: 'PAUSED', now: T0 + 5 })
      const known = await commandsOf(() =>
        store.commit(resumed.lease, { now: T0 + 6, steps: [], run: { progress: 0.5 }, leaseExpiresAt: null }),
      )
      expect(known).toEqual(['UpdateItemCommand'])
      expect(await store.getRun(run.runId)).toMatchObject({ status: 'PAUSED', progress: 0.5, leaseOwner: null })
    } finally {
      await cleanup()
    }
  })

  it('delivers an event in 2 requests whether or not the run waits for it, and stores it under the run', async () => {
    const { store, tableName, cleanup } = await dynamo.harness()
    try {
      const { run, lease } = await running(store)
      // Not waiting: the waking transaction is refused, the checking one goes through; the refusal's old item is
      // the run returned.
      let early: RunRecord | undefined
      const notWaiting = await commandsOf(async () => {
        early = await store.deliverEvent(run.runId, 'early', { v: 1 }, T0 + 1)
      })
      expect(notWaiting).toEqual(['TransactWriteItemsCommand', 'TransactWriteItemsCommand'])
      expect(early).toEqual(await store.getRun(run.runId))
      expect(await rawItem(tableName, { PK: runPk(run.runId), SK: 'EVENT#early' })).toMatchObject({
        eventName: { S: 'early' },
        payload: { S: '{"v":1}' },
      })
      // Waiting: one transaction puts the event and wakes the run, then the run is read back.
      const waitingFor = { kind: 'event', stepId: 'w', name: 'go', until: null } as const
      await store.commit(lease, { now: T0 + 2, steps: [], run: { waitingFor, wakeAt: Number.MAX_SAFE_INTEGER }, leaseExpiresAt: null })
      expect((await rawItem(tableName, runKey(run.runId)))?.waitEvent).toEqual({ S: 'go' })
      let woken: RunRecord | undefined
      const waiting = await commandsOf(async () => {
        woken = await store.deliverEvent(run.runId, 'go', 'yes', T0 + 3)
      })
      expect(waiting).toEqual(['TransactWriteItemsCommand', 'GetItemCommand'])
      expect(woken).toMatchObject({ wakeAt: T0 + 3, updatedAt: T0 + 3, waitingFor })
      expect(await store.listDueRuns(T0 + 3, 10)).toEqual([run.runId])
      expect(await commandsOf(() => store.loadEvent(run.runId, 'go'))).toEqual(['GetItemCommand'])
      // A second event of the same name is refused by the put's own condition, without another request.
      const repeated = await commandsOf(() =>
        store.deliverEvent(run.runId, 'go', 'again', T0 + 4).catch((err: { code: string }) => err.code),
      )
      expect(repeated).toEqual(['TransactWriteItemsCommand'])
      expect(await store.deliverEvent(run.runId, 'go', 'again', T0 + 4).catch((err: { code: string }) => err.code)).toBe(
        'EVENT_ALREADY_DELIVERED',
      )
    } finally {
      await cleanup()
    }
  })

  it('wakes a PAUSED run waiting for the event without making it due until it is resumed (3 requests)', async () => {
    const { store, tableName, cleanup } = await dynamo.harness()
    try {
      const { run, lease } = await running(store)
      const waitingFor = { kind: 'event', stepId: 'w', name: 'go', until: T0 + 99_000 } as const
      await store.commit(lease, { now: T0 + 1, steps: [], run: { waitingFor, wakeAt: T0 + 99_000 }, leaseExpiresAt: null })
      await store.transitionRun(run.runId, { from: ['RUNNING'], to: 'PAUSED', now: T0 + 2 })
      const sent = await commandsOf(() => store.deliverEvent(run.runId, 'go', 1, T0 + 3))
      expect(sent).toEqual(['TransactWriteItemsCommand', 'TransactWriteItemsCommand', 'GetItemCommand'])
      const item = await rawItem(tableName, runKey(run.runId))
      expect(item?.dueAt).toBeUndefined()
      expect(item?.parkedDueAt).toEqual({ N: String(T0 + 3) })
      expect(await store.listDueRuns(T0 + 3, 10)).toEqual([])
      await store.transitionRun(run.runId, { from: ['PAUSED'], to: 'RUNNING', now: T0 + 4 })
      expect(await store.listDueRuns(T0 + 4, 10)).toEqual([run.runId])
    } finally {
      await cleanup()
    }
  })

  it('links a retry in 1 UpdateItem, also on a terminal run, and gives events a ttl with retention', async () => {
    const { store, tableName, cleanup } = await dynamo.harness({ retentionSeconds: RETENTION })
    try {
      const { run, lease } = await running(store)
      await store.deliverEvent(run.runId, 'kept', 1, T0 + 1)
      await store.commit(lease, { now: T0 + 2, steps: [], run: { status: 'FAILED', completedAt: T0 + 2 }, leaseExpiresAt: null })
      const ttl = Math.floor((T0 + 2) / 1000) + RETENTION
      expect((await rawItem(tableName, { PK: runPk(run.runId), SK: 'EVENT#kept' }))?.ttl).toEqual({ N: String(ttl) })
      expect(await commandsOf(() => store.linkRetry(run.runId, 'retry-1', T0 + 3))).toEqual(['UpdateItemCommand'])
      const item = await rawItem(tableName, runKey(run.runId))
      expect(item).toMatchObject({ retriedBy: { S: 'retry-1' }, runStatus: { S: 'FAILED' }, ttl: { N: String(ttl) } })
      expect(await commandsOf(() => store.linkRetry(run.runId, 'retry-2', T0 + 4).catch(() => undefined))).toEqual([
        'UpdateItemCommand',
      ])
    } finally {
      await cleanup()
    }
  })
})

describe('DynamoDBStore per-resource concurrency', () => {
  const limited = (overrides: Partial<RunRecord> = {}) =>
    makeRun({ workflowId: 'wf-limited', resourceId: 'customer-1', concurrencyLimit: 2, ...overrides })

  /** The run ids in the slot item of (wf-limited, customer-1), read directly from the table. */
  async function holders(tableName: string, workflowId = 'wf-limited', resourceId = 'customer-1'): Promise<string[]> {
    const item = await rawItem(tableName, slotKey(workflowId, resourceId))
    return [...(item?.holders?.SS ?? [])].sort()
  }

  it('claims with a slot in 2 requests, refuses a full slot in 2 (then 1), and re-claims a holder in 1', async () => {
    const { store, tableName, cleanup } = await dynamo.harness()
    try {
      const runs: RunRecord[] = []
      for (let i = 0; i < 3; i++) runs.push((await store.createRun(limited({ createdAt: T0 + i }))).run)
      const [a, b, c] = runs as [RunRecord, RunRecord, RunRecord]
      // The plain claim is refused (the run needs a slot; the refusal returns the run), then the transaction claims
      // run and slot, pinned to the run as returned, so it needs no read back.
      let first: Claim | null = null
      expect(await commandsOf(async () => (first = await store.claimRun(a.runId, 'e1', T0, LEASE_MS)))).toEqual([
        'UpdateItemCommand',
        'TransactWriteItemsCommand',
      ])
      expect(first).toEqual({ lease: { runId: a.runId, owner: 'e1', expiresAt: T0 + LEASE_MS }, run: await store.getRun(a.runId), steps: [] })
      await store.claimRun(b.runId, 'e2', T0, LEASE_MS)
      expect(await holders(tableName)).toEqual([a.runId, b.runId].sort())
      expect(await commandsOf(() => store.claimRun(c.runId, 'e3', T0, LEASE_MS))).toEqual([
        'UpdateItemCommand',
        'TransactWriteItemsCommand',
      ])
      // This store now knows the run waits for a slot: the next attempt goes straight to the transaction, and when
      // that succeeds (not pinned to a known run item) the run is read back.
      expect(await commandsOf(() => store.claimRun(c.runId, 'e3', T0 + 1, LEASE_MS))).toEqual(['TransactWriteItemsCommand'])
      await store.cancelRun(b.runId, T0 + 1)
      const known = await commandsOf(() => store.claimRun(c.runId, 'e3', T0 + 2, LEASE_MS))
      expect(known).toEqual(['TransactWriteItemsCommand', 'GetItemCommand'])
      expect(await holders(tableName)).toEqual([a.runId, c.runId].sort())
      // A holder whose lease expired is claimed again like any run, keeping its slot.
      const again = await commandsOf(() => store.claimRun(a.runId, 'e4', T0 + LEASE_MS, LEASE_MS))
      expect(again).toEqual(['UpdateItemCommand'])
      expect(await holders(tableName)).toEqual([a.runId, c.runId].sort())
      expect((await rawItem(tableName, runKey(a.runId)))?.holdsSlot).toEqual({ BOOL: true })
      // A claimed run is returned as stored.
      const claim = await store.claimRun(a.runId, 'e4', T0 + LEASE_MS + 1, LEASE_MS)
      expect(claim?.run).toEqual(await store.getRun(a.runId))
    } finally {
      await cleanup()
    }
  })

  it('releases the slot in the terminal commit: 1 request from the claiming store, 2 from another', async () => {
    const { store, tableName, cleanup } = await dynamo.harness()
    const other = new DynamoDBStore({ client: dynamo.client(), tableName })
    try {
      const first = await running(store, limited())
      const second = await running(store, limited())
      expect(await holders(tableName)).toEqual([first.run.runId, second.run.runId].sort())
      const finish = (target: WorkflowStore, lease: Lease) =>
        target.commit(lease, { now: T0 + 1, steps: [], run: { status: 'COMPLETED', completedAt: T0 + 1 }, leaseExpiresAt: null })
      expect(await commandsOf(() => finish(store, first.lease))).toEqual(['TransactWriteItemsCommand'])
      expect(await holders(tableName)).toEqual([second.run.runId])
      expect(await commandsOf(() => finish(other, second.lease))).toEqual(['UpdateItemCommand', 'TransactWriteItemsCommand'])
      expect(await holders(tableName)).toEqual([])
      for (const { run } of [first, second]) {
        const item = await rawItem(tableName, runKey(run.runId))
        expect(item?.holdsSlot).toBeUndefined()
        expect(item?.runStatus).toEqual({ S: 'COMPLETED' })
      }
      // With steps, the release joins the commit's transaction.
      const third = await running(store, limited())
      const step = makeStep({ runId: third.run.runId, status: 'COMPLETED', output: 1 })
      const withSteps = await commandsOf(() =>
        other.commit(third.lease, { now: T0 + 2, steps: [step], run: { status: 'FAILED', completedAt: T0 + 2 }, leaseExpiresAt: null }),
      )
      expect(withSteps).toEqual(['TransactWriteItemsCommand', 'TransactWriteItemsCommand'])
      expect(await holders(tableName)).toEqual([])
      expect(await store.loadStepOutput(third.run.runId, 'step-1')).toBe(1)
    } finally {
      await cleanup()
    }
  })

  it('releases the slot when a holder is cancelled or deleted, and only then', async () => {
    const { store, tableName, cleanup } = await dynamo.harness()
    const operator = new DynamoDBStore({ client: dynamo.client(), tableName })
    try {
      const a = await running(store, limited())
      const b = await running(store, limited())
      const waiting = (await store.createRun(limited())).run
      expect(await store.claimRun(waiting.runId, 'w', T0 + 1, LEASE_MS)).toBeNull()
      // A cancellation by another store: refused UpdateItem, cancel + release, read back, Query of the steps.
      let cancelled: RunRecord | undefined
      const sent = await commandsOf(async () => {
        cancelled = await operator.cancelRun(a.run.runId, T0 + 2)
      })
      expect(sent).toEqual(['UpdateItemCommand', 'TransactWriteItemsCommand', 'GetItemCommand', 'QueryCommand'])
      expect(cancelled).toEqual(await store.getRun(a.run.runId))
      expect(cancelled).toMatchObject({ status: 'CANCELLED', leaseOwner: null, completedAt: T0 + 2 })
      expect(await holders(tableName)).toEqual([b.run.runId])
      // The waiting run gets the freed slot.
      expect(await store.claimRun(waiting.runId, 'w', T0 + 3, LEASE_MS)).not.toBeNull()
      expect(await holders(tableName)).toEqual([b.run.runId, waiting.runId].sort())
      // The claiming store cancels in one transaction (no refused first try).
      expect(await commandsOf(() => store.cancelRun(waiting.runId, T0 + 4))).toEqual([
        'TransactWriteItemsCommand',
        'GetItemCommand',
        'QueryCommand',
      ])
      // Deleting a run that still holds a slot frees the slot too.
      await store.deleteRun(b.run.runId)
      expect(await holders(tableName)).toEqual([])
      // A PAUSED holder keeps its slot.
      const c = await running(store, limited())
      await store.transitionRun(c.run.runId, { from: ['RUNNING'], to: 'PAUSED', now: T0 + 5 })
      const d = await running(store, limited())
      const blocked = (await store.createRun(limited())).run
      expect(await store.claimRun(blocked.runId, 'x', T0 + 6, LEASE_MS)).toBeNull()
      expect(await holders(tableName)).toEqual([c.run.runId, d.run.runId].sort())
    } finally {
      await cleanup()
    }
  })

  it('retries slot transactions that DynamoDB cancels for a conflict (DynamoDB Local never does)', async () => {
    const harness = await dynamo.harness()
    const client = localClient(dynamo.local().endpoint)
    const injected = { left: 0, sent: 0 }
    // Cancels the next `left` transactions that touch a slot item, as DynamoDB does when two meet on one item.
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const input = args.input as { TransactItems?: Array<{ Update?: { Key?: Record<string, AttributeValue> } }> }
        const touchesSlot = (input.TransactItems ?? []).some((item) => item.Update?.Key?.PK?.S?.startsWith('SLOTS#'))
        if (context.commandName === 'TransactWriteItemsCommand' && touchesSlot && injected.left > 0) {
          injected.left--
          injected.sent++
          throw Object.assign(new Error('Transaction cancelled, please refer cancellation reasons for specific reasons'), {
            name: 'TransactionCanceledException',
            CancellationReasons: [{ Code: 'None' }, { Code: 'TransactionConflict' }],
            $metadata: {},
          })
        }
        return next(args)
      },
      { step: 'initialize', name: 'injectConflicts' },
    )
    const store = new DynamoDBStore({ client, tableName: harness.tableName })
    try {
      const { run } = await store.createRun(limited())
      injected.left = 6
      const claim = await store.claimRun(run.runId, 'owner-a', T0, LEASE_MS)
      expect(injected.sent).toBe(6)
      if (claim === null) throw new Error('a conflict must not refuse a claim')
      expect(await holders(harness.tableName)).toEqual([run.runId])
      injected.left = 6
      await store.commit(claim.lease, { now: T0 + 1, steps: [], run: { status: 'COMPLETED', completedAt: T0 + 1 }, leaseExpiresAt: null })
      expect(injected.sent).toBe(12)
      expect(await holders(harness.tableName)).toEqual([])
    } finally {
      client.destroy()
      await harness.cleanup()
    }
  })

  it('never lets more than the limit hold a slot while 4 engines race over 10 runs, and releases every slot', async () => {
    const { store, tableName, cleanup } = await dynamo.harness()
    const clients = Array.from({ length: 4 }, () => localClient(dynamo.local().endpoint))
    const logs = clients.map((client) => logCommands(client))
    const engines = clients.map((client) => new DynamoDBStore({ client, tableName }))
    const operatorClient = localClient(dynamo.local().endpoint)
    const operator = new DynamoDBStore({ client: operatorClient, tableName })
    const LIMIT = 2
    try {
      const runs: RunRecord[] = []
      for (let i = 0; i < 10; i++) {
        runs.push((await store.createRun(limited({ concurrencyLimit: LIMIT, createdAt: T0 + i }))).run)
      }
      // A run enters `holding` after its claim returned (its slot was taken before) and leaves it before the write
      // that releases the slot is sent: each such interval lies inside the run's true holding interval, so more
      // than LIMIT overlapping ones would prove that the store let more than LIMIT runs hold a slot at once.
      const holding = new Set<string>()
      let most = 0
      const violations: string[] = []
      const executions = new Map<string, number>()
      const done = new Set<string>()
      // These two never finish by themselves (they yield forever, keeping their slot): the operator cancels them
      // once they ran, from its own store, which must release their slots.
      const toCancel = new Set([runs[3]?.runId ?? '', runs[7]?.runId ?? ''])
      const cancelRequested = new Set<string>()
      const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

      const engine = async (target: DynamoDBStore, name: string): Promise<void> => {
        while (done.size < runs.length) {
          for (const runId of await target.listDueRuns(Date.now(), 20)) {
            const claim = await target.claimRun(runId, name, Date.now(), LEASE_MS)
            if (claim === null) continue
            if (!cancelRequested.has(runId)) holding.add(runId)
            most = Math.max(most, holding.size)
            if (holding.size > LIMIT) violations.push(`${[...holding].join(', ')} held at once`)
            const slots = await holders(tableName)
            if (slots.length > LIMIT) violations.push(`the slot item lists ${slots.length} holders`)
            const executed = (executions.get(runId) ?? 0) + 1
            executions.set(runId, executed)
            try {
              // Start (or continue), then yield once (the run keeps its slot while RUNNING without a lease), then finish.
              const { lease } = await target.commit(claim.lease, {
                now: Date.now(),
                steps: [makeStep({ runId, stepId: `s${executed}`, executionIndex: executed, status: 'COMPLETED', output: executed })],
                run: { status: 'RUNNING', startedAt: claim.run.startedAt ?? Date.now() },
                leaseExpiresAt: Date.now() + LEASE_MS,
              })
              await pause(5)
              if (executed < 2 || toCancel.has(runId)) {
                await target.commit(lease, { now: Date.now(), steps: [], run: {}, leaseExpiresAt: null })
                continue
              }
              holding.delete(runId)
              await target.commit(lease, {
                now: Date.now(),
                steps: [],
                run: { status: 'COMPLETED', completedAt: Date.now(), progress: 1 },
                leaseExpiresAt: null,
              })
              done.add(runId)
            } catch (err) {
              // Cancelled by the operator meanwhile.
              if ((err as { code?: string }).code !== 'RUN_ALREADY_FINISHED' || !toCancel.has(runId)) throw err
            }
          }
          await pause(20)
        }
      }
      const cancelOnceRun = async (): Promise<void> => {
        while ([...toCancel].some((runId) => !done.has(runId))) {
          for (const runId of toCancel) {
            if (cancelRequested.has(runId) || (executions.get(runId) ?? 0) === 0) continue
            cancelRequested.add(runId)
            holding.delete(runId)
            await operator.cancelRun(runId, Date.now())
            done.add(runId)
          }
          await pause(10)
        }
      }
      await Promise.all([...engines.map((target, i) => engine(target, `engine-${i}`)), cancelOnceRun()])

      expect(violations).toEqual([])
      expect(most).toBe(LIMIT)
      expect(await holders(tableName)).toEqual([])
      const final = await Promise.all(runs.map((run) => store.getRun(run.runId)))
      expect(final.filter((run) => run.status === 'CANCELLED').map((run) => run.runId).sort()).toEqual([...toCancel].sort())
      expect(final.filter((run) => run.status === 'COMPLETED')).toHaveLength(8)
      for (const log of logs) expect(log.commands).not.toContain('ScanCommand')
      expect(logs.reduce((sum, log) => sum + log.count('TransactWriteItemsCommand'), 0)).toBeGreaterThan(0)
    } finally {
      for (const client of [...clients, operatorClient]) client.destroy()
      await cleanup()
    }
  })
})

describe('DynamoDBStore under SDK retries after a lost reply', () => {
  /**
   * A store whose client, once armed, lets the next request reach DynamoDB and then reports a timeout instead
   * of the reply, so the SDK's retry sends the same request again after it was applied.
   */
  async function lossyStore() {
    const harness = await dynamo.harness()
    const client = localClient(dynamo.local().endpoint)
    const state = { armed: false, attempts: 0 }
    client.middlewareStack.add(
      (next) => async (args) => {
        state.attempts++
        const result = await next(args)
        if (state.armed) {
          state.armed = false
          throw Object.assign(new Error('reply lost'), { name: 'TimeoutError', $metadata: {} })
        }
        return result
      },
      { step: 'deserialize', name: 'loseNextReply' },
    )
    const store = new DynamoDBStore({ client, tableName: harness.tableName })
    /** Runs `action` with the next reply lost; returns its result and how many attempts were sent. */
    const losingReply = async <T>(action: () => Promise<T>): Promise<{ value: T; attempts: number }> => {
      state.armed = true
      state.attempts = 0
      const value = await action()
      return { value, attempts: state.attempts }
    }
    return {
      store,
      losingReply,
      cleanup: async () => {
        client.destroy()
        await harness.cleanup()
      },
    }
  }

  it('reports success for a create, release, finish and cancel whose first reply was lost', async () => {
    const { store, losingReply, cleanup } = await lossyStore()
    try {
      const run = makeRun()
      const created = await losingReply(() => store.createRun(run))
      expect(created).toEqual({ value: { run, created: true }, attempts: 2 })

      const keyed = makeRun({ idempotencyKey: 'k' })
      expect(await losingReply(() => store.createRun(keyed))).toEqual({ value: { run: keyed, created: true }, attempts: 2 })

      const claim = await store.claimRun(run.runId, 'owner-a', T0, LEASE_MS)
      if (claim === null) throw new Error('not claimable')
      const released = await losingReply(() =>
        store.commit(claim.lease, { now: T0 + 1, steps: [], run: { wakeAt: T0 + 5 }, leaseExpiresAt: null }),
      )
      expect(released.attempts).toBe(2)
      expect(await store.getRun(run.runId)).toMatchObject({ leaseOwner: null, wakeAt: T0 + 5, updatedAt: T0 + 1 })

      const again = await store.claimRun(run.runId, 'owner-a', T0 + 5, LEASE_MS)
      if (again === null) throw new Error('not claimable')
      const step = makeStep({ runId: run.runId, status: 'COMPLETED', output: 1 })
      const withStep = await losingReply(() =>
        store.commit(again.lease, { now: T0 + 6, steps: [step], run: { status: 'RUNNING' }, leaseExpiresAt: T0 + LEASE_MS }),
      )
      expect(withStep.attempts).toBe(2)
      const finished = await losingReply(() =>
        store.commit(again.lease, {
          now: T0 + 7,
          steps: [],
          run: { status: 'COMPLETED', output: 1, completedAt: T0 + 7 },
          leaseExpiresAt: null,
        }),
      )
      expect(finished.attempts).toBe(2)
      expect(await store.getRun(run.runId)).toMatchObject({ status: 'COMPLETED', output: 1, leaseOwner: null })
      expect(await store.listStepExecutions(run.runId)).toEqual([step])

      const cancelled = await losingReply(() => store.cancelRun(keyed.runId, T0 + 8))
      // UpdateItem twice (the retry), then the Query for open steps.
      expect(cancelled.attempts).toBe(3)
      expect(cancelled.value).toEqual(await store.getRun(keyed.runId))
      expect(cancelled.value.status).toBe('CANCELLED')
    } finally {
      await cleanup()
    }
  })

  it('reports success for a pause, resume, retry link, event and slot claim whose first reply was lost', async () => {
    const { store, losingReply, cleanup } = await lossyStore()
    try {
      const { run } = await running(store)
      const paused = await losingReply(() => store.transitionRun(run.runId, { from: ['RUNNING'], to: 'PAUSED', now: T0 + 1 }))
      expect(paused.attempts).toBe(2)
      expect(paused.value).toEqual(await store.getRun(run.runId))
      expect(paused.value.status).toBe('PAUSED')
      const resumed = await losingReply(() => store.transitionRun(run.runId, { from: ['PAUSED'], to: 'RUNNING', now: T0 + 2 }))
      expect(resumed.attempts).toBe(2)
      expect(resumed.value).toMatchObject({ status: 'RUNNING', updatedAt: T0 + 2 })
      expect(await store.listDueRuns(T0 + LEASE_MS, 10)).toEqual([run.runId])

      // Not waiting: the waking transaction is refused (its reply arrives), the checking one is sent twice with one
      // ClientRequestToken, which DynamoDB answers as already done.
      const event = await losingReply(() => store.deliverEvent(run.runId, 'e', { once: true }, T0 + 3))
      expect(event.attempts).toBe(3)
      expect(await store.loadEvent(run.runId, 'e')).toEqual({ name: 'e', payload: { once: true }, receivedAt: T0 + 3 })

      const linked = await losingReply(() => store.linkRetry(run.runId, 'retry-1', T0 + 4))
      expect(linked.attempts).toBe(2)
      expect(linked.value).toMatchObject({ retriedBy: 'retry-1', updatedAt: T0 + 4 })

      const limited = (await store.createRun(makeRun({ resourceId: 'r', concurrencyLimit: 1 }))).run
      // Refused UpdateItem, then the slot transaction twice (lost reply, same token).
      const claim = await losingReply(() => store.claimRun(limited.runId, 'owner-a', T0, LEASE_MS))
      expect(claim.attempts).toBe(3)
      expect(claim.value?.run).toEqual(await store.getRun(limited.runId))
      expect(claim.value?.run.leaseOwner).toBe('owner-a')
      expect(await store.claimRun((await store.createRun(makeRun({ resourceId: 'r', concurrencyLimit: 1 }))).run.runId, 'b', T0, LEASE_MS)).toBeNull()
    } finally {
      await cleanup()
    }
  })

  it('still refuses a commit that was not its own: another finish, or a different release', async () => {
    const { store, cleanup } = await lossyStore()
    try {
      const { run, lease } = await running(store)
      await store.commit(lease, { now: T0 + 1, steps: [], run: { status: 'FAILED', completedAt: T0 + 1 }, leaseExpiresAt: null })
      await expect(
        store.commit(lease, { now: T0 + 1, steps: [], run: { status: 'COMPLETED', completedAt: T0 + 1 }, leaseExpiresAt: null }),
      ).rejects.toMatchObject({ code: 'RUN_ALREADY_FINISHED' })
      const other = await running(store)
      await store.commit(other.lease, { now: T0 + 2, steps: [], run: {}, leaseExpiresAt: null })
      await expect(
        store.commit(other.lease, { now: T0 + 3, steps: [], run: {}, leaseExpiresAt: null }),
      ).rejects.toMatchObject({ code: 'LEASE_LOST' })
      expect((await store.getRun(run.runId)).status).toBe('FAILED')
    } finally {
      await cleanup()
    }
  })
})

describe('DynamoDBStore errors and options', () => {
  it('maps a missing table to STORE_UNAVAILABLE naming the create-table command', async () => {
    const store = new DynamoDBStore({ client: dynamo.client(), tableName: 'no-such-table' })
    await expect(store.getRun('x')).rejects.toMatchObject({
      code: 'STORE_UNAVAILABLE',
      message: expect.stringContaining('npm run dynamodb:create-table -- --table no-such-table'),
    })
  })

  it('maps an unreachable endpoint to STORE_UNAVAILABLE', async () => {
    const client = localClient('http://127.0.0.1:9')
    try {
      const store = new DynamoDBStore({ client, tableName: 'whatever' })
      const err = await store.listRuns().catch((e: unknown) => e)
      expect(err).toMatchObject({ code: 'STORE_UNAVAILABLE' })
      expect((err as Error).cause).toBeDefined()
    } finally {
      client.destroy()
    }
  })

  it('refuses every call after close() with STORE_UNAVAILABLE', async () => {
    const { store, cleanup } = await dynamo.harness()
    await store.close()
    await expect(store.getRun('x')).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' })
    await cleanup()
  })

  it('refuses invalid options with INVALID_ARGUMENT', () => {
    const client = dynamo.client()
    for (const options of [
      { tableName: 'ab' },
      { tableName: 'table', retentionSeconds: 0 },
      { tableName: 'table', retentionSeconds: 1.5 },
      { tableName: 'table', maxItemBytes: 500_000 },
      { tableName: 'table', maxItemBytes: 100 },
    ]) {
      expect(() => new DynamoDBStore({ client, ...options })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }))
    }
  })

  it('round-trips payloads that are not plain text: control characters, lone surrogates, deep nesting', async () => {
    const { store, cleanup } = await dynamo.harness()
    try {
      const nested: Json = JSON.parse('['.repeat(200) + ']'.repeat(200)) as Json
      const payload: Json = { nul: '\u0000', ctl: '\u0001\u001f\u007f', lone: '\ud800x\udfff', emoji: '🚀', nested }
      const run = makeRun({ input: payload, context: payload })
      await store.createRun(run)
      expect(await store.getRun(run.runId)).toEqual(run)
      await store.saveState(run.runId, '\u0000key', payload, T0)
      expect(await store.getAllState(run.runId)).toEqual({ '\u0000key': payload })
    } finally {
      await cleanup()
    }
  })
})

describe('createTable', () => {
  it('creates the table on demand with every index and TTL on ttl, and is idempotent', async () => {
    const client = dynamo.client()
    const tableName = uniqueTableName('create')
    expect(await createTable(client, tableName)).toEqual({ created: true, ttlEnabled: true })
    expect(await createTable(client, tableName)).toEqual({ created: false, ttlEnabled: false })
    const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }))
    expect(Table?.BillingModeSummary?.BillingMode).toBe('PAY_PER_REQUEST')
    expect(Table?.GlobalSecondaryIndexes?.map((i) => i.IndexName).sort()).toEqual(
      GLOBAL_SECONDARY_INDEXES.map((i) => i.IndexName).sort(),
    )
    const ttl = await client.send(new DescribeTimeToLiveCommand({ TableName: tableName }))
    expect(ttl.TimeToLiveDescription).toMatchObject({ AttributeName: 'ttl', TimeToLiveStatus: 'ENABLED' })
  })

  it('refuses an existing table that lacks the store indexes', async () => {
    const client = dynamo.client()
    const tableName = uniqueTableName('foreign')
    await client.send(
      new CreateTableCommand({
        TableName: tableName,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [
          { AttributeName: 'PK', AttributeType: 'S' },
          { AttributeName: 'SK', AttributeType: 'S' },
        ],
        KeySchema: [
          { AttributeName: 'PK', KeyType: 'HASH' },
          { AttributeName: 'SK', KeyType: 'RANGE' },
        ],
      }),
    )
    await expect(createTable(client, tableName)).rejects.toMatchObject({
      code: 'STORE_UNAVAILABLE',
      message: expect.stringContaining('index byCreated is missing'),
    })
  })

  it('accepts a table made before completion webhooks once the documented update-table adds byWebhookDue', async () => {
    const client = dynamo.client()
    const tableName = uniqueTableName('upgrade')
    const added = ['webhookDueAt', 'completedAt']
    await client.send(
      new CreateTableCommand({
        TableName: tableName,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: ATTRIBUTE_DEFINITIONS.filter((d) => !added.includes(d.AttributeName ?? '')),
        KeySchema: [
          { AttributeName: 'PK', KeyType: 'HASH' },
          { AttributeName: 'SK', KeyType: 'RANGE' },
        ],
        GlobalSecondaryIndexes: GLOBAL_SECONDARY_INDEXES.filter((i) => i.IndexName !== 'byWebhookDue'),
      }),
    )
    await expect(createTable(client, tableName)).rejects.toMatchObject({ message: expect.stringContaining('index byWebhookDue is missing') })
    // A run that ended with its webhook undelivered before the upgrade.
    const store = new DynamoDBStore({ client, tableName })
    const webhook = { url: 'https://hooks.example.com/x', attempts: 0, lastStatus: null, nextAttemptAt: T0, deliveredAt: null }
    const { run } = await store.createRun(makeRun({ status: 'COMPLETED', completedAt: T0, webhook }))

    // docs/dynamodb.md, "Upgrading a table created before completion webhooks", as an SDK call.
    await client.send(
      new UpdateTableCommand({
        TableName: tableName,
        AttributeDefinitions: [
          { AttributeName: 'shard', AttributeType: 'N' },
          { AttributeName: 'webhookDueAt', AttributeType: 'N' },
          { AttributeName: 'completedAt', AttributeType: 'N' },
        ],
        GlobalSecondaryIndexUpdates: [
          {
            Create: {
              IndexName: 'byWebhookDue',
              KeySchema: [
                { AttributeName: 'shard', KeyType: 'HASH' },
                { AttributeName: 'webhookDueAt', KeyType: 'RANGE' },
                { AttributeName: 'completedAt', KeyType: 'RANGE' },
              ],
              Projection: { ProjectionType: 'KEYS_ONLY' },
            },
          },
        ],
      }),
    )
    // Queried while still CREATING, DynamoDB (Local too) fails the request: wait as the docs say, by polls counted.
    const status = async () =>
      (await client.send(new DescribeTableCommand({ TableName: tableName }))).Table?.GlobalSecondaryIndexes?.find(
        (i) => i.IndexName === 'byWebhookDue',
      )?.IndexStatus
    await expect.poll(status, { timeout: 60_000, interval: 100 }).toBe('ACTIVE')
    expect(await createTable(client, tableName)).toMatchObject({ created: false })
    expect(await store.listDueWebhooks(T0, 10)).toEqual([run.runId])
  })

  it('runs as `npm run dynamodb:create-table -- --table NAME --endpoint URL`, twice', async () => {
    const run = promisify(execFile)
    const tableName = uniqueTableName('cli')
    const args = ['run', '--silent', 'dynamodb:create-table', '--', '--table', tableName, '--endpoint', dynamo.local().endpoint]
    const env = { ...process.env, AWS_ACCESS_KEY_ID: '', AWS_PROFILE: '' }
    const first = await run('npm', args, { env })
    expect(first.stdout).toContain(`created table ${tableName}`)
    const second = await run('npm', args, { env })
    expect(second.stdout).toContain('already exists')
    const { Table } = await dynamo.client().send(new DescribeTableCommand({ TableName: tableName }))
    expect(Table?.TableStatus).toBe('ACTIVE')
    // Without a table name it explains itself and fails.
    const missing = await run('npm', ['run', '--silent', 'dynamodb:create-table'], { env: { ...env, DYNAMODB_TABLE: '' } }).catch(
      (e: { code: number; stderr: string }) => e,
    )
    expect(missing).toMatchObject({ code: 2, stderr: expect.stringContaining('--table NAME') })
  })
})

// Keeps the command-log helper honest: a second log on another client sees only that client's commands.
describe('logCommands', () => {
  it('counts the commands of one client', async () => {
    const client = localClient(dynamo.local().endpoint)
    try {
      const log = logCommands(client)
      await client.send(new DescribeTableCommand({ TableName: 'missing-table' })).catch(() => undefined)
      expect(log.commands).toEqual(['DescribeTableCommand'])
    } finally {
      client.destroy()
    }
  })
})
