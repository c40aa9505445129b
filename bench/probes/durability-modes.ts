/**
 * @module
 * W1 and W2 in each durability mode (README "Durability modes") over the LibSQL HTTP store against the local endpoint
 * with a latency added to every request (20 ms: a Turso round trip from a nearby edge location), counting store calls
 * and the endpoint's HTTP requests per run. The numbers behind the README's round-trip table of the two modes.
 *
 * Run: `npx tsx bench/probes/durability-modes.ts [latencyMs…]` (default 20). Prints, per latency, mode and workload,
 * the median ms of RUNS runs after WARMUP, with store calls and HTTP requests per run.
 */
import { Engine } from '../../src/core/engine'
import { DURABILITY_MODES } from '../../src/core/step-config'
import { createRemoteLibSQLStore } from '../../src/store/libsql/remote-libsql-store'
import { countingStore } from '../../test/support/counting-store'
import { startEndpoint } from '../targets/libsql-endpoint'
import { ALL_BENCH_WORKFLOWS, runOnce } from '../workloads'

const WARMUP = 3
const RUNS = 15

const latencies = process.argv.slice(2).map(Number)
for (const latencyMs of latencies.length > 0 ? latencies : [20]) {
  const endpoint = await startEndpoint(latencyMs)
  const store = await createRemoteLibSQLStore({ url: endpoint.url, authToken: endpoint.token })
  try {
    for (const workload of ['W1', 'W2'] as const) {
      for (const durability of DURABILITY_MODES) {
        const counting = countingStore(store)
        const engine = new Engine({ store: counting.store, workflows: ALL_BENCH_WORKFLOWS })
        for (let i = 0; i < WARMUP; i++) await runOnce(engine, workload, durability)
        counting.reset()
        const requestsBefore = await endpoint.requests()
        const times: number[] = []
        for (let i = 0; i < RUNS; i++) {
          const start = performance.now()
          await runOnce(engine, workload, durability)
          times.push(performance.now() - start)
        }
        const requests = (await endpoint.requests()) - requestsBefore
        await engine.shutdown()
        times.sort((a, b) => a - b)
        const median = times[Math.floor(RUNS / 2)] as number
        const calls = Object.entries(counting.calls)
          .map(([method, n]) => `${method} ${(n / RUNS).toFixed(1)}`)
          .join(', ')
        console.log(
          `${latencyMs} ms ${workload} ${durability.padEnd(9)}: median ${median.toFixed(1)} ms ` +
            `(min ${(times[0] as number).toFixed(1)}, max ${(times.at(-1) as number).toFixed(1)}); ` +
            `${(counting.total() / RUNS).toFixed(1)} store calls per run (${calls}); ${(requests / RUNS).toFixed(1)} HTTP requests per run`,
        )
      }
    }
  } finally {
    await store.close()
    await endpoint.close()
  }
}
