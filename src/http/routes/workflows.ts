/** @module /v1/workflows: the registered workflow definitions, their versions and what still runs on each. */
import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi'
import type { AppOptions } from '../options'
import { VersionSchema, WorkflowParams, WorkflowSchema, WorkflowSummarySchema } from '../schemas'
import { validationHook } from '../validation'
import { toVersionView, toWorkflowSummaryView, toWorkflowView } from '../views'
import { BEARER, errorResponses, json } from './responses'

const TRUNCATED = z.boolean().openapi({
  description: 'More in-flight runs exist than were counted (10,000 per status); the counts are lower bounds',
})

const listWorkflows = createRoute({
  method: 'get',
  path: '/workflows',
  tags: ['workflows'],
  summary: 'Registered workflows, their versions, and the in-flight runs on each',
  description:
    'Each workflow lists its registered versions (the last is current: new runs start there) with their in-flight ' +
    '(PENDING, RUNNING, PAUSED) runs, then the versions no longer registered that still have runs in flight — ' +
    'these wait for a deployment that has them, or for an operator to migrate or cancel them. `unregistered` ' +
    'lists in-flight runs of workflow ids not registered at all. Costs one read per in-flight run.',
  security: BEARER,
  responses: {
    200: json(
      z.object({
        workflows: z.array(WorkflowSummarySchema),
        unregistered: z.array(z.object({ workflowId: z.string(), versions: z.array(VersionSchema) })),
        truncated: TRUNCATED,
      }),
      'The registered workflows',
    ),
    ...errorResponses(401, 503),
  },
})

const getWorkflow = createRoute({
  method: 'get',
  path: '/workflows/{workflowId}',
  tags: ['workflows'],
  summary: 'One workflow, with the JSON Schema of its input, its versions and their in-flight runs',
  security: BEARER,
  request: { params: WorkflowParams },
  responses: {
    200: json(z.object({ workflow: WorkflowSchema, truncated: TRUNCATED }), 'The workflow (its current version)'),
    ...errorResponses(400, 401, 404, 503),
  },
})

/** The workflow routes, mounted under `/v1`. */
export function workflowsRoutes({ engine }: AppOptions) {
  return new OpenAPIHono({ defaultHook: validationHook })
    .openapi(listWorkflows, async (c) => {
      const inventory = await engine.versionInventory()
      const byId = new Map(inventory.workflows.map((w) => [w.workflowId, w.versions]))
      const registered = engine.listWorkflows()
      const ids = new Set(registered.map((wf) => wf.id))
      return c.json(
        {
          workflows: registered.map((wf) => toWorkflowSummaryView(wf, byId.get(wf.id) ?? [])),
          unregistered: inventory.workflows
            .filter((w) => !ids.has(w.workflowId))
            .map((w) => ({ workflowId: w.workflowId, versions: w.versions.map(toVersionView) })),
          truncated: inventory.truncated,
        },
        200,
      )
    })
    .openapi(getWorkflow, async (c) => {
      const { workflowId } = c.req.valid('param')
      const wf = engine.getWorkflow(workflowId)
      const inventory = await engine.versionInventory(workflowId)
      const versions = inventory.workflows.find((w) => w.workflowId === workflowId)?.versions ?? []
      return c.json({ workflow: toWorkflowView(wf, versions), truncated: inventory.truncated }, 200)
    })
}
