// Long runs (test/core/long-run.cases.ts) on an embedded LibSQL file.
import { runLongRunCases } from '../core/long-run.cases'
import { fileStoreHarness } from '../support/libsql-harness'

runLongRunCases('LibSQLStore (file:)', fileStoreHarness)
