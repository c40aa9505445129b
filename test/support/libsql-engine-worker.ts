/**
 * @module
 * A child process for `test/store/libsql-file.test.ts`: an Engine on a LibSQL file that sweeps until no run is
 * due, shared with other processes doing the same. Usage: `node --import tsx libsql-engine-worker.ts FILE OWNER`;
 * it prints `ready` once the store is open and starts when a line arrives on stdin.
 * Prints one JSON line: the step invocations it ran and any errors (thrown or logged), so the parent can
 * check that every step ran exactly once across processes and that no process met SQLITE_BUSY.
 */
import { z } from 'zod'
import { Engine } from '../../src/core/engine'
import type { Logger } from '../../src/core/logger'
import { defineStep } from '../../src/core/step'
import { workflow } from '../../src/core/workflow'
import { createLibSQLStore } from '../../src/store/libsql/create-libsql-store'

/** The workflow every process registers: three sequential steps that each take a few ms. */
const RACE_WORKFLOW_ID = 'libsql-race'

async function main(): Promise<void> {
  const [file, owner] = process.argv.slice(2)
  if (file === undefined || owner === undefined) throw new Error('usage: libsql-engine-worker.ts FILE OWNER')
  const invocations: string[] = []
  const step = (id: string) =>
    defineStep({
      id,
      input: z.object({ n: z.number() }),
      output: z.object({ n: z.number() }),
      handler: async (ctx, { n }) => {
        invocations.push(`${ctx.runId}/${ctx.stepId}/${ctx.attempt}`)
        // Long enough that one process cannot finish every run before the others have started sweeping.
        await new Promise((r) => setTimeout(r, 5 + (n % 3)))
        return { n: n + 1 }
      },
    })
  const wf = workflow({ id: RACE_WORKFLOW_ID, input: z.object({ n: z.number() }) })
    .then(step('a'))
    .then(step('b'))
    .then(step('c'))
    .build()
  const store = await createLibSQLStore({ url: `file:${file}` })
  // The sweeper logs (rather than throws) a store fault of one run; collect those as errors too.
  const errors: string[] = []
  const logger: Logger = {
    level: 'warn',
    log: (_level, event, fields) => errors.push(`${event} ${JSON.stringify(fields)}`),
  }
  const engine = new Engine({ store, workflows: [wf], ownerId: owner, leaseMs: 60_000, logger })
  // Start sweeping only when the parent says so, so that every process races from the same moment.
  process.stdout.write('ready\n')
  await new Promise<void>((go) => process.stdin.once('data', () => go()))
  try {
    for (let round = 0; round < 1_000; round++) {
      const { claimed } = await engine.resumeDue({ limit: 5 })
      if (claimed === 0 && (await store.listDueRuns(Date.now(), 1)).length === 0) break
    }
  } catch (err) {
    errors.push(err instanceof Error ? `${err.name}: ${err.message}` : String(err))
  } finally {
    await engine.shutdown()
    await store.close()
  }
  process.stdout.write(`${JSON.stringify({ owner, invocations, errors })}\n`)
}

main().catch((err: unknown) => {
  process.stdout.write(`${JSON.stringify({ owner: process.argv[3], invocations: [], errors: [String(err)] })}\n`)
  process.exitCode = 1
})
