/** @module /v1/workflows: the registered workflow definitions, their versions and what still runs on each. */
import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi'
import type { AppOptions } from '../options'
import { ScheduleSchema, VersionSchema, WorkflowParams, WorkflowSchema, WorkflowSummarySchema } from '../schemas'
import { validationHook } from '../validation'
import { toScheduleView, toVersionView, toWorkflowSummaryView, toWorkflowView } from '../views'
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

const scheduleAction = (action: 'pause' | 'resume') =>
  createRoute({
    method: 'post',
    path: `/workflows/{workflowId}/schedule/${action}`,
    tags: ['workflows'],
    summary: action === 'pause' ? 'Pause a workflow’s schedule on every engine' : 'Resume a paused schedule from its next tick',
    description:
      action === 'pause'
        ? 'No tick fires until it is resumed; a tick already being fired still starts its run. Pausing a paused schedule changes nothing.'
        : 'Ticks that passed while it was paused are dropped, whatever the missed-ticks policy. Resuming a running schedule changes nothing.',
    security: BEARER,
    request: { params: WorkflowParams },
    responses: {
      200: json(z.object({ workflowId: z.string(), schedule: ScheduleSchema }), 'The schedule as it is now'),
      ...errorResponses(400, 401, 404, 503),
    },
  })

/** The workflow routes, mounted under `/v1`. */
export function workflowsRoutes({ engine }: AppOptions) {
  return new OpenAPIHono({ defaultHook: validationHook })
    .openapi(listWorkflows, async (c) => {
      const [inventory, schedules] = await Promise.all([engine.versionInventory(), engine.listSchedules()])
      const byId = new Map(inventory.workflows.map((w) => [w.workflowId, w.versions]))
      const scheduleOf = new Map(schedules.map((s) => [s.workflowId, s]))
      const registered = engine.listWorkflows()
      const ids = new Set(registered.map((wf) => wf.id))
      return c.json(
        {
          workflows: registered.map((wf) => toWorkflowSummaryView(wf, byId.get(wf.id) ?? [], scheduleOf.get(wf.id) ?? null)),
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
      const [inventory, schedules] = await Promise.all([
        engine.versionInventory(workflowId),
        wf.schedule === null ? [] : engine.listSchedules(),
      ])
      const versions = inventory.workflows.find((w) => w.workflowId === workflowId)?.versions ?? []
      const schedule = schedules.find((s) => s.workflowId === workflowId) ?? null
      return c.json({ workflow: toWorkflowView(wf, versions, schedule), truncated: inventory.truncated }, 200)
    })
    .openapi(scheduleAction('pause'), async (c) => {
      const { workflowId } = c.req.valid('param')
      return c.json({ workflowId, schedule: toScheduleView(await engine.pauseSchedule(workflowId)) }, 200)
    })
    .openapi(scheduleAction('resume'), async (c) => {
      const { workflowId } = c.req.valid('param')
      return c.json({ workflowId, schedule: toScheduleView(await engine.resumeSchedule(workflowId)) }, 200)
    })
}
