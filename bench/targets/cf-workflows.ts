/**
 * @module
 * The peer: Cloudflare Workflows under the same `wrangler dev` (bench/peers/cf-workflows/), so the ratio to our
 * Worker is measured in the same run on the same machine rather than copied.
 *
 * W1 and W2 go exactly as for our Worker: one `POST /v1/workflows/:id/runs?wait=true` per run from the same
 * client, answered once the run is terminal; the peer's Worker creates the instance and polls `instance.status()`
 * every 1 ms until it is (the only way a Worker can await an instance). W3 differs: 100 instances are created
 * and awaited by one request (`POST /v1/workflows/bench-w1/batch?runs=100`), not by 100 concurrent requests.
 * With 100 requests, each held for the seconds a peer batch takes, wrangler's dev proxy lost its connections to
 * workerd in every other batch (16 to 82 of 100 requests answered 503 "Your worker restarted mid-request", with
 * the inspector on or off, fresh state or not); one request spares the peer 99 trips through that proxy, so the
 * difference favours the peer.
 *
 * The peer keeps its state where Cloudflare Workflows keeps it locally: a SQLite-backed Durable Object per
 * instance inside workerd, so no store HTTP requests or store calls are counted for it.
 */
import { W3_RUNS } from '../workload-sizes'
import { EXPECTED_N, assertCompleted } from '../workloads'
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
    const session = httpSession({
      url: worker.url,
      // The peer asks for no token; the client sends one all the same, so requests are the same size.
      token: 'peer',
      peakRssKiB: async () => worker.peakRssKiB(),
      close: () => worker.close(),
    })
    return {
      ...session,
      async batch() {
        const res = await fetch(`${worker.url}/v1/workflows/bench-w1/batch?runs=${W3_RUNS}`, { method: 'POST' })
        const text = await res.text()
        if (res.status !== 200) throw new Error(`the peer's batch answered ${res.status}: ${text.slice(0, 500)}`)
        const { runs } = JSON.parse(text) as { runs: { status: string; output: unknown; error: unknown }[] }
        if (runs.length !== W3_RUNS) throw new Error(`the peer's batch ran ${runs.length} of ${W3_RUNS} runs`)
        for (const run of runs) assertCompleted(run.status, run.output, EXPECTED_N.W3, run.error)
      },
    }
  },
}
