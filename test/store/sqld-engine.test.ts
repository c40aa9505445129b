// The engine matrix, wait and durability cases over HTTP against sqld, the libSQL server behind Turso (our
// endpoint: libsql-engine-http.test.ts). sqld runs with one connection (test/support/sqld.ts says why).
import { runDurabilityCases } from '../core/durability.cases'
import { runDurabilityModeCases } from '../core/durability-modes.cases'
import { runEngineCases } from '../core/engine.cases'
import { runScheduleCases } from '../core/schedule.cases'
import { runVersionCases } from '../core/versions.cases'
import { runChildCases } from '../core/children.cases'
import { runMapCases } from '../core/map.cases'
import { runWaitCases } from '../core/waits.cases'
import { useSqld } from '../support/sqld'

const sqld = useSqld()

runEngineCases('LibSQLStore (sqld)', () => sqld.harness())
runWaitCases('LibSQLStore (sqld)', () => sqld.harness())
runDurabilityCases('LibSQLStore (sqld)', () => sqld.harness())
runDurabilityModeCases('LibSQLStore (sqld)', () => sqld.harness())
runVersionCases('LibSQLStore (sqld)', () => sqld.harness())
runScheduleCases('LibSQLStore (sqld)', () => sqld.harness())
runChildCases('LibSQLStore (sqld)', () => sqld.harness())
runMapCases('LibSQLStore (sqld)', () => sqld.harness())
