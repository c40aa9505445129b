/**
 * @module
 * The Worker of `src/worker.ts` with the benchmark workflows added, for `wrangler dev bench/worker.ts`. The
 * shipped examples have no 10-step workflow (`sequential` has 3 steps, so 4 store calls instead of W1's 11),
 * and W1 must be the same workload on every target to compare with the peers. Both durability modes' W1 and W2 are
 * registered (issue #18), so one `wrangler dev` serves the default and the pipelined rows.
 */
import { createWorker, type WorkerEnv } from '../src/runtime/create-worker'
import { exampleWorkflows } from '../src/workflows'
import { ALL_BENCH_WORKFLOWS } from './workloads'

const worker = createWorker<WorkerEnv>({ workflows: [...exampleWorkflows, ...ALL_BENCH_WORKFLOWS] })

export default worker
export const { RunAlarm } = worker
