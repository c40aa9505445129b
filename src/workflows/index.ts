/** @module The example workflows both entries register. */
import type { AnyWorkflow } from '../core/workflow'
import { approvalWorkflow } from './approval'
import { conditionalWorkflow } from './conditional'
import { flakyWorkflow } from './flaky'
import { napWorkflow } from './nap'
import { parallelWorkflow } from './parallel'
import { sequentialWorkflow } from './sequential'
import { sleepWorkflow } from './sleep'

export { approvalWorkflow, conditionalWorkflow, flakyWorkflow, napWorkflow, parallelWorkflow, sequentialWorkflow, sleepWorkflow }

/** Every example, in the order the API lists them. */
export const exampleWorkflows: readonly AnyWorkflow[] = [
  sequentialWorkflow,
  parallelWorkflow,
  conditionalWorkflow,
  flakyWorkflow,
  sleepWorkflow,
  approvalWorkflow,
  napWorkflow,
]
