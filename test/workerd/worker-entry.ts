/**
 * @module
 * The Worker the workerd tests run (vitest.config.ts's `main`): `src/worker.ts`'s, with `long-steps`, the
 * every-minute `minutely` schedule and `pipelined-chain` added to the registered workflows, and its `RunAlarm`
 * class for wrangler.toml's `RUN_ALARMS` binding.
 */
import { createWorker, type WorkerEnv } from '../../src/runtime/create-worker'
import { registeredWorkflows } from '../../src/registry'
import { longStepsWorkflow } from './long-steps'
import { minutelyWorkflow } from './minutely'
import { pipelinedChainWorkflow } from './pipelined-chain'

const worker = createWorker<WorkerEnv>({ workflows: [...registeredWorkflows, longStepsWorkflow, minutelyWorkflow, pipelinedChainWorkflow] })

export default worker
export const { RunAlarm } = worker
