// The engine matrix, wait cases, durability cases and durability modes on an embedded LibSQL file (HTTP:
// libsql-engine-http.test.ts, a separate file so the two run in parallel).
import { runDurabilityCases } from '../core/durability.cases'
import { runDurabilityModeCases } from '../core/durability-modes.cases'
import { runEngineCases } from '../core/engine.cases'
import { runScheduleCases } from '../core/schedule.cases'
import { runVersionCases } from '../core/versions.cases'
import { runChildCases } from '../core/children.cases'
import { runMapCases } from '../core/map.cases'
import { runWaitCases } from '../core/waits.cases'
import { fileStoreHarness } from '../support/libsql-harness'

runEngineCases('LibSQLStore (file:)', fileStoreHarness)
runWaitCases('LibSQLStore (file:)', fileStoreHarness)
runVersionCases('LibSQLStore (file:)', fileStoreHarness)
runChildCases('LibSQLStore (file:)', fileStoreHarness)
runMapCases('LibSQLStore (file:)', fileStoreHarness)
runDurabilityCases('LibSQLStore (file:)', fileStoreHarness)
runDurabilityModeCases('LibSQLStore (file:)', fileStoreHarness)
runScheduleCases('LibSQLStore (file:)', fileStoreHarness)
