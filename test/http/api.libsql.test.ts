/** The API contract over LibSQL: the embedded file Node uses, and HTTP to a local endpoint as on Workers. */
import { afterAll } from 'vitest'
import { fileStoreHarness, httpStoreHarness } from '../support/libsql-harness'
import { runApiContract } from './api.contract'

const cleanups: (() => Promise<void>)[] = []

runApiContract('LibSQLStore (file:)', async () => {
  const { store, cleanup } = await fileStoreHarness()
  cleanups.push(cleanup)
  return store
})

runApiContract('LibSQLStore (HTTP, the Workers path)', async () => {
  const { store, cleanup } = await httpStoreHarness()
  cleanups.push(cleanup)
  return store
})

afterAll(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup().catch(() => {})
})
