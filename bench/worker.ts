/**
 * @module
 * The Worker of `src/worker.ts` with the benchmark workflows added, for `wrangler dev bench/worker.ts`. The
 * shipped examples have no 10-step workflow (`sequential` has 3 steps, so 4 store calls instead of W1's 11),
 * and W1 must be the same workload on every target to compare with the peers. Both durability modes' W1 and W2 are
 * registered (issue #18), so one `wrangler dev` serves the default and the pipelined rows.
 *
 * One route is added for W3: `POST /bench/workflows/:id/batch?runs=N` (same bearer token and body as a start)
 * makes N `POST /v1/workflows/:id/runs?wait=true` requests to this Worker's own handler at once, inside the
 * isolate, and answers `{ runs }` once all have; the first non-200 answer is passed on instead. It spares the
 * 100 requests of a batch wrangler's dev proxy, which under load resets its connections to workerd when that
 * many long requests are in flight (bench/targets/wrangler-dev.ts), and it is how the Cloudflare Workflows peer
 * runs W3 too (bench/peers/cf-workflows/worker.ts).
 */
import type { ExecutionContext } from 'hono'
import { createWorker, type WorkerEnv } from '../src/runtime/create-worker'
import { exampleWorkflows } from '../src/workflows'
import { ALL_BENCH_WORKFLOWS } from './workloads'

/** Most runs one batch request may start. */
const MAX_BATCH = 1_000
const BATCH_PATH = /^\/bench\/workflows\/([^/]+)\/batch$/

const worker = createWorker<WorkerEnv>({ workflows: [...exampleWorkflows, ...ALL_BENCH_WORKFLOWS] })

async function batch(request: Request, workflowId: string, env: WorkerEnv, ctx: ExecutionContext): Promise<Response> {
  const url = new URL(request.url)
  const runs = Number(url.searchParams.get('runs'))
  if (!Number.isSafeInteger(runs) || runs < 1 || runs > MAX_BATCH) {
    return Response.json({ error: { code: 'INVALID_INPUT', message: `runs must be an integer from 1 to ${MAX_BATCH}` } }, { status: 400 })
  }
  const body = await request.text()
  // The id as it came (a path segment, still percent-encoded): the API decodes it as for any start.
  const start = new URL(`/v1/workflows/${workflowId}/runs?wait=true`, url)
  const answers = await Promise.all(
    Array.from({ length: runs }, async () => {
      const res = await worker.fetch(new Request(start, { method: 'POST', headers: request.headers, body }), env, ctx)
      return { status: res.status, text: await res.text() }
    }),
  )
  const refused = answers.find((a) => a.status !== 200)
  if (refused) return new Response(refused.text, { status: refused.status, headers: { 'content-type': 'application/json' } })
  return Response.json({ runs: answers.map((a) => (JSON.parse(a.text) as { run: unknown }).run) })
}

export default {
  fetch(request: Request, env: WorkerEnv, ctx: ExecutionContext): Promise<Response> {
    const match = request.method === 'POST' ? BATCH_PATH.exec(new URL(request.url).pathname) : null
    return match ? batch(request, match[1] as string, env, ctx) : worker.fetch(request, env, ctx)
  },
  scheduled: worker.scheduled,
}
export const { RunAlarm } = worker
