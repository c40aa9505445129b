// Size limits on an embedded LibSQL file and over HTTP to the local libSQL endpoint (sqld: sqld-limits.test.ts).
import { DEFAULT_PAYLOAD_LIMITS } from '../../src/core/limits'
import { runLimitCases } from '../core/limits.cases'
import { fileStoreHarness, httpStoreHarness } from '../support/libsql-harness'

// SQLite's 1,000,000,000-byte rows, less 4,096 bytes of reserve, halved where a record holds two payloads.
runLimitCases('LibSQLStore (file:)', fileStoreHarness, {
  defaults: DEFAULT_PAYLOAD_LIMITS,
  ceiling: { runInputBytes: 499_997_952, stepOutputBytes: 499_997_952, eventPayloadBytes: 499_997_952, stateValueBytes: 999_995_904 },
})

// Every remote database is held to sqld's 5,000,000-byte rows (see sqld-limits.test.ts).
runLimitCases('LibSQLStore (HTTP)', httpStoreHarness, {
  defaults: DEFAULT_PAYLOAD_LIMITS,
  ceiling: { runInputBytes: 2_497_952, stepOutputBytes: 2_497_952, eventPayloadBytes: 2_497_952, stateValueBytes: 4_995_904 },
})
