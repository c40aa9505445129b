/**
 * @module
 * The files of a project that uses the installed package as the README's "Your own workflows" says, written into a
 * temporary folder by `package.test.ts`. Kept as text: under `test/` as `.ts` files, they would be type-checked by
 * this repository's `tsc`, where `gorkflow` is not an installed package.
 */

/** The README's "A workflow in 20 lines": its two steps, then the workflow chained as the README chains it. */
const STEPS = `import { z } from 'zod'
import { defineStep, workflow } from 'gorkflow'

const add = defineStep({
  id: 'add',
  input: z.object({ a: z.number(), b: z.number() }),
  output: z.object({ sum: z.number() }),
  handler: (ctx, { a, b }) => ({ sum: a + b }),
})
const double = defineStep({
  id: 'double',
  input: z.object({ sum: z.number() }),
  output: z.number(),
  maxRetries: 5, retryDelayMs: 200, backoff: 'EXPONENTIAL', timeoutMs: 2_000,
  handler: async (ctx, { sum }) => sum * 2,
})
`

const FLOW = `${STEPS}
export const mathFlow = workflow({ id: 'math', input: z.object({ a: z.number(), b: z.number() }) })
  .then(add)
  .then(double)
  .build()
`

/** The same steps chained the wrong way round: \`double\` cannot take the run input, \`add\` cannot take a number. */
export const WRONG_CHAIN = `${STEPS}
export const swapped = workflow({ id: 'math', input: z.object({ a: z.number(), b: z.number() }) })
  .then(double)
  .then(add)
  .build()
`

/** Runs the flow on Node with an embedded file store and prints what the test asserts. */
const RUN = `import { Engine } from 'gorkflow'
import { DEFAULT_MIGRATIONS_FOLDER, createLibSQLStore } from 'gorkflow/libsql/node'
import { mathFlow } from './flow.js'

const store = await createLibSQLStore({ url: 'file:./data/gorkflow.db' })
try {
  const engine = new Engine({ store, workflows: [mathFlow] })
  const run = await engine.run('math', { a: 2, b: 3 })
  const stored = await store.getRun(run.runId)
  const steps = await engine.listSteps(run.runId)
  console.log(JSON.stringify({
    status: run.status,
    output: run.output,
    storedStatus: stored.status,
    steps: steps.map((step) => [step.stepId, step.status]),
    migrationsFolder: DEFAULT_MIGRATIONS_FOLDER,
  }))
} finally {
  await store.close()
}
`

/** The user's Worker, as the README shows it. */
const WORKER = `import { createWorker } from 'gorkflow/worker'
import { mathFlow } from './flow.js'

const worker = createWorker({ workflows: [mathFlow] })
export default worker
export const { RunAlarm } = worker
`

/** One name from every entry, so \`tsc\` resolves each subpath's declarations. */
const ENTRIES = `export type { Engine, WorkflowStore } from 'gorkflow'
export type { LibSQLStore, createRemoteLibSQLStore } from 'gorkflow/libsql'
export type { createLibSQLStore } from 'gorkflow/libsql/node'
export type { DynamoDBStore, dynamoDBStoreFromEnv } from 'gorkflow/dynamodb'
export type { WorkerEnv, createWorker } from 'gorkflow/worker'
export type { NodeServer, startNodeServer } from 'gorkflow/node'
`

/** Node's resolution (what a Node user sets), emitting the JavaScript that \`run.js\` executes. */
const TSCONFIG = {
  compilerOptions: {
    target: 'ES2022',
    module: 'NodeNext',
    moduleResolution: 'NodeNext',
    lib: ['ES2023', 'DOM'],
    types: [],
    strict: true,
    // drizzle-orm's declarations do not check without the drivers of every other database.
    skipLibCheck: true,
    rootDir: 'src',
    outDir: 'build',
  },
  include: ['src'],
}

/** A bundler's resolution (what a Worker project sets). */
const TSCONFIG_BUNDLER = {
  extends: './tsconfig.json',
  compilerOptions: { module: 'ESNext', moduleResolution: 'Bundler', noEmit: true },
}

/** The wrong chain alone, checked with the project's settings. */
const TSCONFIG_WRONG = {
  extends: './tsconfig.json',
  compilerOptions: { rootDir: 'wrong', noEmit: true },
  include: ['wrong'],
}

/** The README's wrangler.toml. */
const WRANGLER_TOML = `name = "my-workflows"
main = "src/worker.ts"
compatibility_date = "2026-05-01"

[triggers]
crons = ["* * * * *"]

[[durable_objects.bindings]]
name = "RUN_ALARMS"
class_name = "RunAlarm"

[[migrations]]
tag = "v1"
new_sqlite_classes = ["RunAlarm"]

[vars]
STORE = "libsql"
`

/** Path (relative to the project) → content. */
export const CONSUMER_FILES: Readonly<Record<string, string>> = {
  'package.json': `${JSON.stringify({ name: 'my-workflows', private: true, type: 'module' }, null, 2)}\n`,
  'tsconfig.json': `${JSON.stringify(TSCONFIG, null, 2)}\n`,
  'tsconfig.bundler.json': `${JSON.stringify(TSCONFIG_BUNDLER, null, 2)}\n`,
  'tsconfig.wrong.json': `${JSON.stringify(TSCONFIG_WRONG, null, 2)}\n`,
  'wrangler.toml': WRANGLER_TOML,
  'src/flow.ts': FLOW,
  'src/run.ts': RUN,
  'src/worker.ts': WORKER,
  'src/entries.ts': ENTRIES,
  'wrong/wrong-chain.ts': WRONG_CHAIN,
}
