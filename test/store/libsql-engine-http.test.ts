// The engine matrix, wait cases and durability cases over HTTP to the local libSQL endpoint (the Workers path).
import { runDurabilityCases } from '../core/durability.cases'
import { runDurabilityModeCases } from '../core/durability-modes.cases'
import { runEngineCases } from '../core/engine.cases'
import { runVersionCases } from '../core/versions.cases'
import { runChildCases } from '../core/children.cases'
import { runMapCases } from '../core/map.cases'
import { runWaitCases } from '../core/waits.cases'
import { httpStoreHarness } from '../support/libsql-harness'

runEngineCases('LibSQLStore (HTTP)', httpStoreHarness)
runWaitCases('LibSQLStore (HTTP)', httpStoreHarness)
runVersionCases('LibSQLStore (HTTP)', httpStoreHarness)
runChildCases('LibSQLStore (HTTP)', httpStoreHarness)
runMapCases('LibSQLStore (HTTP)', httpStoreHarness)
runDurabilityCases('LibSQLStore (HTTP)', httpStoreHarness)
runDurabilityModeCases('LibSQLStore (HTTP)', httpStoreHarness)
