/**
 * @module
 * The Worker of `src/worker.ts` with the benchmark workflows added, for `wrangler dev bench/worker.ts`. The
 * shipped examples have no 10-step workflow (`sequential` has 3 steps, so 4 store calls instead of W1's 11),
 * and W1 must be the same workload on every target to compare with the peers.
 */
import { createWorker, type WorkerEnv } from '../src/runtime/create-worker'
import { exampleWorkflows } from '../src/workflows'
import { benchWorkflows } from './workloads'

const worker = createWorker<WorkerEnv>({ workflows: [...exampleWorkflows, ...benchWorkflows] })

export default worker
export const { RunAlarm } = worker
