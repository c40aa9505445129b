import { runDurabilityCases } from '../core/durability.cases'
import { runEngineCases } from '../core/engine.cases'
import { runWaitCases } from '../core/waits.cases'
import { fileStoreHarness, httpStoreHarness } from '../support/libsql-harness'

runEngineCases('LibSQLStore (file:)', fileStoreHarness)
runEngineCases('LibSQLStore (HTTP)', httpStoreHarness)
runWaitCases('LibSQLStore (file:)', fileStoreHarness)
runWaitCases('LibSQLStore (HTTP)', httpStoreHarness)
runDurabilityCases('LibSQLStore (file:)', fileStoreHarness)
runDurabilityCases('LibSQLStore (HTTP)', httpStoreHarness)
