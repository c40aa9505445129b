/**
 * The claim rule is written once (src/store/rules.ts) and expressed again as SQL (LibSQL) and as a DynamoDB
 * condition expression. This checks that every store's claimRun and listDueRuns agree with isClaimable, and
 * nextDueAt with dueInstant, on every combination of status, lease and wake time, on the real engines.
 */
import { describe, expect, it, vi } from 'vitest'
import { RUN_STATUSES, type RunRecord } from '../../src/core/model'
import type { WorkflowStore } from '../../src/core/store'
import { MemoryStore } from '../../src/store/memory/memory-store'
import { dueInstant, isClaimable } from '../../src/store/rules'
import { useDynamoDBLocal } from '../support/dynamodb-harness'
import { makeRun, T0 } from '../support/fixtures'
import { fileStoreHarness } from '../support/libsql-harness'

const NOW = T0 + 10_000
const LEASES: ReadonlyArray<Pick<RunRecord, 'leaseOwner' | 'leaseExpiresAt'>> = [
  { leaseOwner: null, leaseExpiresAt: null },
  { leaseOwner: 'a', leaseExpiresAt: NOW + 1 },
  { leaseOwner: 'b', leaseExpiresAt: NOW + 1 },
  { leaseOwner: 'b', leaseExpiresAt: NOW },
  { leaseOwner: 'b', leaseExpiresAt: NOW - 1 },
]
const WAKES = [null, NOW - 1, NOW, NOW + 1]

/** One run per status × lease × wake time (6 × 5 × 4). */
function matrix(): RunRecord[] {
  return RUN_STATUSES.flatMap((status) =>
    LEASES.flatMap((lease) =>
      WAKES.map((wakeAt) =>
        makeRun({ status, ...lease, wakeAt, completedAt: status === 'COMPLETED' || status === 'FAILED' || status === 'CANCELLED' ? T0 : null }),
      ),
    ),
  )
}

async function expectAgreement(store: WorkflowStore): Promise<void> {
  const runs = matrix()
  // In parallel: each run is its own row or partition, and DynamoDB Local answers one request at a time slowly.
  await Promise.all(runs.map((run) => store.createRun(run)))
  const due = new Set(await store.listDueRuns(NOW, 1000))
  const expectedDue = runs.filter((run) => isClaimable(run, null, NOW)).map((run) => run.runId)
  expect([...due].sort()).toEqual(expectedDue.sort())
  expect(expectedDue.length).toBeGreaterThan(0)

  const claims = await Promise.all(runs.map((run) => store.claimRun(run.runId, 'a', NOW, 1_000)))
  const claimed = runs.filter((_, i) => claims[i] !== null).map((run) => run.runId)
  const expectedClaimed = runs.filter((run) => isClaimable(run, 'a', NOW)).map((run) => run.runId)
  expect(claimed.sort()).toEqual(expectedClaimed.sort())
  // Owner 'a' may also reclaim its own live lease, which is never due.
  expect(expectedClaimed.length).toBeGreaterThan(expectedDue.length)

  // Every run claimable at NOW is now leased until NOW + 1000: the next due time is the earliest of the others.
  const stored = await Promise.all(runs.map((run) => store.getRun(run.runId)))
  const next = Math.min(...stored.map(dueInstant).filter((t): t is number => t !== null))
  expect(next).toBe(NOW + 1)
  expect(await store.nextDueAt()).toBe(next)
}

// 240 requests to DynamoDB Local: seconds when idle, far more on a loaded 2-core machine.
vi.setConfig({ testTimeout: 120_000 })

const dynamo = useDynamoDBLocal()

describe('the claim rule (isClaimable) and each store', () => {
  it('MemoryStore claims and lists due exactly the runs isClaimable accepts', async () => {
    await expectAgreement(new MemoryStore())
  })

  it('LibSQLStore (claimableBy, due_at) claims and lists due exactly the runs isClaimable accepts', async () => {
    const { store, cleanup } = await fileStoreHarness()
    try {
      await expectAgreement(store)
    } finally {
      await cleanup()
    }
  })

  it('DynamoDBStore (claimableCondition) claims and lists due exactly the runs isClaimable accepts', async () => {
    const { store, cleanup } = await dynamo.harness()
    try {
      await expectAgreement(store)
    } finally {
      await cleanup()
    }
  })
})
