// The store contract over HTTP against sqld, the libSQL server behind Turso (our endpoint: libsql-contract.test.ts).
import { useSqld } from '../support/sqld'
import { runStoreContract } from './store.contract'

const sqld = useSqld()

runStoreContract('LibSQLStore over HTTP (sqld)', () => sqld.harness())
