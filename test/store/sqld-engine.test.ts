// The engine matrix and wait cases over HTTP against sqld, the libSQL server behind Turso (our endpoint:
// libsql-engine-http.test.ts). The durability cases are not run here yet: in them sqld 0.24.1-pre.42 has stopped
// answering every request, fresh clients' included, for minutes — once in the three-engine race with two CPU
// burners beside the suite (1 of 5 full runs), once in the store-faults case on a quiet machine after the file's
// earlier cases — while each of those cases passes alone (the race 10 of 10). The cause is open (issue #14's
// closing note); `SQLD_DEBUG=1` prints sqld's own log. The durability cases run on memory, the file store, our
// endpoint and DynamoDB Local.
import { runEngineCases } from '../core/engine.cases'
import { runVersionCases } from '../core/versions.cases'
import { runWaitCases } from '../core/waits.cases'
import { useSqld } from '../support/sqld'

const sqld = useSqld()

runEngineCases('LibSQLStore (sqld)', () => sqld.harness())
runWaitCases('LibSQLStore (sqld)', () => sqld.harness())
runVersionCases('LibSQLStore (sqld)', () => sqld.harness())
