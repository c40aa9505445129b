/**
 * @module
 * What `GET /v1/workflows/:id` costs to count in-flight runs by version (`Engine.versionInventory`): store calls and
 * milliseconds for 500 and 5,000 in-flight runs (half on a version no longer registered) beside 20,000 finished
 * ones, on the memory store and a LibSQL file. The README's "Deploying a change safely" quotes it.
 *
 * Run: `npx tsx bench/probes/version-inventory.ts`. Prints the mean of 5 inventories after one warm-up.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Engine } from '../../src/core/engine'
import { defineStep } from '../../src/core/step'
import type { WorkflowStore } from '../../src/core/store'
import { workflow } from '../../src/core/workflow'
import { createLibSQLStore } from '../../src/store/libsql/create-libsql-store'
import { MemoryStore } from '../../src/store/memory/memory-store'
import { countingStore } from '../../test/support/counting-store'
import { makeRun } from '../../test/support/fixtures'

const FINISHED = 20_000
const REPETITIONS = 5
const current = workflow({ id: 'deploy', version: '2' }).then(defineStep({ id: 'a', handler: (_c, i: unknown) => i })).build()

async function probe(kind: 'memory' | 'file', inFlight: number, dir: string): Promise<void> {
  const store: WorkflowStore =
    kind === 'memory' ? new MemoryStore() : await createLibSQLStore({ url: `file:${join(dir, `${inFlight}.db`)}` })
  for (let i = 0; i < inFlight; i++) {
    const old = i % 2 === 1
    await store.createRun(
      makeRun({
        workflowId: 'deploy',
        workflowVersion: old ? '1' : '2',
        workflowFingerprint: old ? 'aaaaaaaaaaaaaaaa' : current.fingerprint,
        status: i % 3 === 0 ? 'RUNNING' : 'PENDING',
        createdAt: 1_700_000_000_000 + i,
      }),
    )
  }
  for (let i = 0; i < FINISHED; i++) await store.createRun(makeRun({ workflowId: 'deploy', status: 'COMPLETED', createdAt: 1_600_000_000_000 + i }))
  const counting = countingStore(store)
  const engine = new Engine({ store: counting.store, workflows: [current] })
  await engine.versionInventory('deploy')
  const calls = counting.total()
  const started = performance.now()
  for (let r = 0; r < REPETITIONS; r++) await engine.versionInventory('deploy')
  const ms = (performance.now() - started) / REPETITIONS
  console.log(`${kind.padEnd(6)} ${String(inFlight).padStart(5)} in flight: ${ms.toFixed(1)} ms, ${calls} store calls per inventory`)
  await store.close()
}

const dir = mkdtempSync(join(tmpdir(), 'gorkflow-version-inventory-'))
try {
  for (const inFlight of [500, 5_000]) for (const kind of ['memory', 'file'] as const) await probe(kind, inFlight, dir)
} finally {
  rmSync(dir, { recursive: true, force: true })
}
