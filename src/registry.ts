/**
 * @module
 * The workflows this deployment serves. The Worker (`src/worker.ts`, `src/worker-dynamodb.ts`) and the Node server
 * (`src/node.ts`) register exactly this list. Your own workflows go in their own modules (the README suggests
 * `src/flows/`) and are added here; drop `...exampleWorkflows` to serve only yours. The examples stay in
 * `src/workflows/`, where the tests use them.
 */
import type { AnyWorkflow } from './core/workflow'
import { exampleWorkflows } from './workflows'

/** In the order the API and the dashboard list them. */
export const registeredWorkflows: readonly AnyWorkflow[] = [...exampleWorkflows]
