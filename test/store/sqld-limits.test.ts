// Size limits over HTTP against sqld, the libSQL server behind Turso, including the row size sqld itself refuses.
import { describe, expect, it } from 'vitest'
import { DEFAULT_PAYLOAD_LIMITS } from '../../src/core/limits'
import { runLimitCases } from '../core/limits.cases'
import { makeRun } from '../support/fixtures'
import { useSqld } from '../support/sqld'

const sqld = useSqld()
const ceiling = { runInputBytes: 2_497_952, stepOutputBytes: 2_497_952, eventPayloadBytes: 2_497_952, stateValueBytes: 4_995_904 }

runLimitCases('LibSQLStore (sqld)', () => sqld.harness(), { defaults: DEFAULT_PAYLOAD_LIMITS, ceiling })

describe('the remote ceiling against sqld', () => {
  it('holds a state value at the ceiling, while sqld refuses a row over 5,000,000 bytes', async () => {
    const { store, cleanup } = await sqld.harness()
    try {
      const run = makeRun()
      await store.createRun(run)
      const atCeiling = 'x'.repeat(ceiling.stateValueBytes - 2)
      await store.saveState(run.runId, 'k', atCeiling, run.createdAt)
      expect(((await store.loadState(run.runId, 'k')) as string).length).toBe(atCeiling.length)
      // What the ceiling guards against: sqld's own refusal, which no retry would get past.
      await expect(store.saveState(run.runId, 'k', 'x'.repeat(5_000_000), run.createdAt)).rejects.toMatchObject({
        code: 'PAYLOAD_TOO_LARGE',
        message: expect.stringContaining('too big'),
      })
      expect(((await store.loadState(run.runId, 'k')) as string).length).toBe(atCeiling.length)
    } finally {
      await cleanup()
    }
  })
})
