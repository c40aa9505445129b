/**
 * @module
 * `pipelined-chain`: six `{ n } → { n: n + 1 }` steps with `durability: 'pipelined'` (README "Durability modes"), for
 * the workerd test of pipelined commits; every other step waits a timer first, as I/O would, so commits go out
 * behind running steps as well as with the terminal one.
 */
import { z } from 'zod'
import { defineStep } from '../../src/core/step'
import { workflow, type AnyWorkflow, type WorkflowBuilder } from '../../src/core/workflow'

const num = z.object({ n: z.number() })

function step(i: number) {
  return defineStep({
    id: `p${i}`,
    input: num,
    output: num,
    handler: async (_ctx, { n }) => {
      if (i % 2 === 0) await new Promise((resolve) => setTimeout(resolve, 1))
      return { n: n + 1 }
    },
  })
}

let builder = workflow({ id: 'pipelined-chain', input: num, config: { durability: 'pipelined' } }).then(step(1)) as WorkflowBuilder<unknown, { n: number }>
for (let i = 2; i <= 6; i++) builder = builder.then(step(i))

export const pipelinedChainWorkflow: AnyWorkflow = builder.build()
