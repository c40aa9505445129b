/** @module /v1/workflows: the registered workflow definitions. */
import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi'
import type { AppOptions } from '../options'
import { WorkflowParams, WorkflowSchema, WorkflowSummarySchema } from '../schemas'
import { validationHook } from '../validation'
import { toWorkflowSummaryView, toWorkflowView } from '../views'
import { BEARER, errorResponses, json } from './responses'

const listWorkflows = createRoute({
  method: 'get',
  path: '/workflows',
  tags: ['workflows'],
  summary: 'Registered workflows',
  security: BEARER,
  responses: {
    200: json(z.object({ workflows: z.array(WorkflowSummarySchema) }), 'The registered workflows'),
    ...errorResponses(401),
  },
})

const getWorkflow = createRoute({
  method: 'get',
  path: '/workflows/{workflowId}',
  tags: ['workflows'],
  summary: 'One workflow, with the JSON Schema of its input',
  security: BEARER,
  request: { params: WorkflowParams },
  responses: {
    200: json(z.object({ workflow: WorkflowSchema }), 'The workflow'),
    ...errorResponses(400, 401, 404),
  },
})

/** The workflow routes, mounted under `/v1`. */
export function workflowsRoutes({ engine }: AppOptions) {
  return new OpenAPIHono({ defaultHook: validationHook })
    .openapi(listWorkflows, (c) =>
      c.json({ workflows: engine.listWorkflows().map(toWorkflowSummaryView) }, 200),
    )
    .openapi(getWorkflow, (c) =>
      c.json({ workflow: toWorkflowView(engine.getWorkflow(c.req.valid('param').workflowId)) }, 200),
    )
}
