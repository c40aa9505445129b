/**
 * @module
 * The peer: Cloudflare Workflows under the same `wrangler dev` (bench/peers/cf-workflows/), so the ratio to our
 * Worker is measured in the same run on the same machine rather than copied.
 *
 * Measured exactly as our Worker is (bench/targets/wrangler-dev.ts), by the same client: W1 and W2 are one
 * `POST /v1/workflows/:id/runs?wait=true` per run, answered once the run is terminal (the peer's Worker creates
 * the instance and polls `instance.status()` every 1 ms, the only way a Worker can await an instance); W3 is one
 * `POST /bench/workflows/bench-w1/batch?runs=100` that starts the 100 runs inside the Worker and answers once all
 * have ended.
 *
 * The peer keeps its state where Cloudflare Workflows keeps it locally, in SQLite-backed Durable Objects inside
 * workerd: it has no store calls or store HTTP requests to count.
 */
import { httpSession } from './http-session'
import { DEFAULT_BUDGET, type Target } from './target'
import { startWranglerWorker } from './wrangler-process'

const PEER_CONFIG = 'bench/peers/cf-workflows/wrangler.toml'

export const cfWorkflowsTarget: Target = {
  id: 'cf-workflows',
  title: 'Cloudflare Workflows, `wrangler dev` (peer)',
  workloads: ['W1', 'W2', 'W3'],
  budget: { ...DEFAULT_BUDGET, warmupMs: 1_500, batches: 3 },
  async open() {
    const worker = await startWranglerWorker({ config: PEER_CONFIG, vars: {}, launcher: 'cli' })
    return httpSession({
      url: worker.url,
      // The peer asks for no token; the client sends one all the same, so requests are the same size.
      token: 'peer',
      batchInOneRequest: true,
      peakRssKiB: async () => worker.peakRssKiB(),
      close: () => worker.close(),
    })
  },
}
