import { fileStoreHarness, httpStoreHarness } from '../support/libsql-harness'
import { runStoreContract } from './store.contract'

runStoreContract('LibSQLStore on a file: database', fileStoreHarness)
runStoreContract('LibSQLStore over HTTP (local libSQL endpoint)', httpStoreHarness)
