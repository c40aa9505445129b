/**
 * @module
 * The Cloudflare Workflows peer of the benchmark: W1 and W2 written with Cloudflare Workflows' own API
 * (`WorkflowEntrypoint`, `step.do`, the `[[workflows]]` bindings of `wrangler.toml` beside this file), served by
 * the same `wrangler dev` as bench/worker.ts (bench/targets/cf-workflows.ts). Its HTTP surface mirrors ours, so
 * the benchmark's client is the same:
 * - `POST /v1/workflows/bench-w1/runs?wait=true` (or `bench-w2`), body `{ "input": { "n": 0 } }`: creates an
 *   instance and answers once `instance.status()` reports it terminal, as `{ run: { status, output, error } }`
 *   with our status names (`complete` → `COMPLETED`);
 * - `POST /bench/workflows/bench-w1/batch?runs=100`: creates that many instances at once and answers once all are
 *   terminal, `{ runs: [...] }` (W3, as bench/worker.ts's route of the same name does for ours);
 * - `GET /health`.
 * Completion is observed by polling `instance.status()` inside the Worker: a deployed Worker has no other way
 * to await an instance. Steps are plain functions: no schema validation, which ours do on every step.
 */
import { WorkflowEntrypoint, type WorkflowEvent, type WorkflowStep } from 'cloudflare:workers'
import { W1_STEPS, W2_BRANCHES } from '../../workload-sizes'

interface Counter {
  readonly n: number
}

/** The subset of a `[[workflows]]` binding (workers-types' `Workflow`) used here. */
interface WorkflowBinding {
  create(options: { params: Counter }): Promise<WorkflowInstance>
}

interface WorkflowInstance {
  readonly id: string
  status(): Promise<{ status: string; output?: unknown; error?: { name?: string; message?: string } }>
}

interface Env {
  readonly W1: WorkflowBinding
  readonly W2: WorkflowBinding
}

/**
 * Between two `status()` calls of one instance. The first call of a running instance is answered only once its
 * engine is free (1–2 calls per run were seen, whatever the interval), so 1 ms delays the answer by at most 1 ms.
 */
const POLL_MS = 1
/** Most instances one batch request may start. */
const MAX_BATCH = 1_000

/** Cloudflare Workflows' terminal statuses, by the name our API gives them. */
const TERMINAL: Readonly<Record<string, string>> = { complete: 'COMPLETED', errored: 'FAILED', terminated: 'CANCELLED' }

export class W1Workflow extends WorkflowEntrypoint<Env, Counter> {
  override async run(event: Readonly<WorkflowEvent<Counter>>, step: WorkflowStep): Promise<Counter> {
    let value: Counter = event.payload
    for (let i = 1; i <= W1_STEPS; i++) {
      const { n } = value
      value = await step.do(`inc${i}`, async () => ({ n: n + 1 }))
    }
    return value
  }
}

export class W2Workflow extends WorkflowEntrypoint<Env, Counter> {
  override async run(event: Readonly<WorkflowEvent<Counter>>, step: WorkflowStep): Promise<Counter> {
    const { n } = event.payload
    const outputs = await Promise.all(
      Array.from({ length: W2_BRANCHES }, (_, i) => step.do(`p${i + 1}`, async () => ({ n: n + 1 }))),
    )
    return step.do('sum', async () => ({ n: outputs.reduce((total, output) => total + output.n, 0) }))
  }
}

async function runToEnd(binding: WorkflowBinding, input: Counter) {
  const instance = await binding.create({ params: input })
  for (;;) {
    const { status, output, error } = await instance.status()
    const terminal = TERMINAL[status]
    if (terminal !== undefined) return { id: instance.id, status: terminal, output: output ?? null, error: error ?? null }
    await new Promise((wake) => setTimeout(wake, POLL_MS))
  }
}

function bindingFor(env: Env, workflowId: string | undefined): WorkflowBinding | null {
  return workflowId === 'bench-w1' ? env.W1 : workflowId === 'bench-w2' ? env.W2 : null
}

const RUNS_PATH = /^\/v1\/workflows\/([^/]+)\/runs$/
const BATCH_PATH = /^\/bench\/workflows\/([^/]+)\/batch$/

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const url = new URL(request.url)
    if (request.method === 'GET' && url.pathname === '/health') return new Response('ok')
    const start = RUNS_PATH.exec(url.pathname)
    const batch = BATCH_PATH.exec(url.pathname)
    const binding = bindingFor(env, (start ?? batch)?.[1])
    if (request.method !== 'POST' || binding === null) return Response.json({ error: 'not found' }, { status: 404 })
    if (start) {
      const body = (await request.json().catch(() => null)) as { input?: Counter } | null
      if (typeof body?.input?.n !== 'number') return Response.json({ error: 'body must be { "input": { "n": number } }' }, { status: 400 })
      return Response.json({ run: await runToEnd(binding, body.input) })
    }
    const runs = Number(url.searchParams.get('runs'))
    if (!Number.isSafeInteger(runs) || runs < 1 || runs > MAX_BATCH) {
      return Response.json({ error: `runs must be an integer from 1 to ${MAX_BATCH}` }, { status: 400 })
    }
    return Response.json({ runs: await Promise.all(Array.from({ length: runs }, () => runToEnd(binding, { n: 0 }))) })
  },
}
