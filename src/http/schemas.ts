/**
 * @module
 * Zod schemas of the HTTP API: requests are validated with them, and `/v1/openapi.json` is generated from
 * them. Responses are built by `views.ts`; the schemas here describe those shapes for the document and the
 * typed client.
 */
import { z } from '@hono/zod-openapi'
import { RUN_STATUSES, STEP_STATUSES } from '../core/model'
import { MAX_TAG_FILTERS } from '../core/store'
import { VERSION_PATTERN } from '../core/workflow'
import {
  MAX_IDEMPOTENCY_KEY_LENGTH,
  MAX_RESOURCE_ID_LENGTH,
  MAX_TAG_KEY_LENGTH,
  MAX_TAG_VALUE_LENGTH,
  MAX_TAGS,
} from './limits'

/** Largest page of `GET /v1/runs`. The store allows more; the API keeps responses small. */
export const MAX_API_PAGE_SIZE = 100
export const DEFAULT_API_PAGE_SIZE = 20

const IdString = z.string().min(1).max(200)
const AnyJson = z.unknown().openapi({ description: 'Any JSON value' })
const IsoTime = z.string().openapi({ format: 'date-time', example: '2026-05-01T12:00:00.000Z' })

/** Event names, as the builder's `waitForEvent` accepts them. */
export const EVENT_NAME_PATTERN = /^[A-Za-z0-9_.:-]{1,100}$/

export const WaitingForSchema = z
  .discriminatedUnion('kind', [
    z.object({ kind: z.literal('sleep'), stepId: z.string(), until: IsoTime }),
    z.object({
      kind: z.literal('event'),
      stepId: z.string(),
      name: z.string(),
      until: IsoTime.nullable().openapi({ description: "The wait's timeout; null waits forever" }),
    }),
    z.object({
      kind: z.literal('child'),
      stepId: z.string(),
      runId: z.string().openapi({ description: 'The child run' }),
      workflowId: z.string(),
      until: IsoTime.openapi({ description: 'When the run looks at its child again if no wake-up came first' }),
    }),
    z.object({
      kind: z.literal('version'),
      version: z.string(),
      fingerprint: z.string().nullable(),
      sameVersionOtherGraph: z.boolean().openapi({
        description: 'A definition with this version string but another graph is registered: a forgotten version bump',
      }),
      until: IsoTime.openapi({ description: 'When a sweeper looks at the run again' }),
    }),
  ])
  .openapi('WaitingFor', {
    description:
      'What a RUNNING (or PAUSED) run waits for while it holds no compute: a sleep, an event, a child run, or (`version`) a ' +
      'deployment that has the version it started on',
  })

/** A workflow version as the API accepts it where one is named. */
export const VersionString = z
  .string()
  .regex(VERSION_PATTERN, 'must be 1-64 of letters, digits, _ . + -')
  .openapi({ example: '2.0' })

export const ErrorSchema = z
  .object({
    error: z.object({
      code: z.string().openapi({ example: 'RUN_NOT_FOUND' }),
      message: z.string(),
      details: AnyJson.optional(),
    }),
  })
  .openapi('Error')

export const RunSchema = z
  .object({
    runId: z.string(),
    workflowId: z.string(),
    workflowVersion: z.string(),
    workflowFingerprint: z
      .string()
      .optional()
      .openapi({ description: "Structural fingerprint of the graph the run started on; absent for runs older than fingerprints" }),
    status: z.enum(RUN_STATUSES),
    progress: z.number().min(0).max(1),
    input: AnyJson,
    output: AnyJson.optional().openapi({ description: 'Present once the run is COMPLETED' }),
    error: z.object({ code: z.string(), message: z.string(), step: z.string().optional() }).optional(),
    resourceId: z.string().optional(),
    tags: z.record(z.string(), z.string()).optional(),
    waitingFor: WaitingForSchema.optional(),
    retryOf: z.string().optional().openapi({ description: 'The FAILED run this one retries' }),
    retriedBy: z.string().optional().openapi({ description: 'The run that retries this one' }),
    parentRunId: z
      .string()
      .optional()
      .openapi({ description: "The run whose child-workflow step started this one (its children: GET /v1/runs/{runId}/children)" }),
    concurrencyLimit: z
      .number()
      .int()
      .optional()
      .openapi({ description: 'At most this many runs of the workflow with this resourceId execute at once' }),
    webhook: z
      .object({
        url: z.string(),
        attempts: z.number().int(),
        lastStatus: z.number().int().nullable().openapi({ description: 'HTTP status of the last attempt; 0 for no answer' }),
        nextAttemptAt: IsoTime.nullable(),
        deliveredAt: IsoTime.nullable(),
      })
      .optional()
      .openapi({ description: 'The completion webhook and its delivery (README, "Completion webhooks")' }),
    createdAt: IsoTime,
    startedAt: IsoTime.optional(),
    completedAt: IsoTime.optional(),
    updatedAt: IsoTime,
  })
  .openapi('Run')

export const StepSchema = z
  .object({
    stepId: z.string(),
    executionIndex: z.number().int(),
    status: z.enum(STEP_STATUSES),
    attempt: z.number().int().openapi({ description: '0-based index of the latest attempt' }),
    interruptions: z.number().int().openapi({
      description:
        'Attempts cut short by a crash, restart or shutdown. They spend no retry; more than the step\'s ' +
        'maxInterruptions fail it with ATTEMPT_INTERRUPTED',
    }),
    input: AnyJson,
    output: AnyJson.optional().openapi({ description: 'Present for COMPLETED and SKIPPED steps' }),
    error: z
      .object({ code: z.string(), message: z.string(), attempt: z.number().int(), details: AnyJson.optional() })
      .optional(),
    startedAt: IsoTime.optional(),
    completedAt: IsoTime.optional(),
    durationMs: z.number(),
    wakeAt: IsoTime.optional().openapi({
      description: 'When a waiting step continues (a retry backoff, a durable sleep, an event wait times out)',
    }),
    items: z
      .object({
        total: z.number().int(),
        notStarted: z.number().int(),
        byStatus: z.partialRecord(z.enum(STEP_STATUSES), z.number().int()),
      })
      .optional()
      .openapi({ description: "A map node's items counted by status; the items are paged at `/v1/runs/{runId}/steps/{stepId}/items`" }),
  })
  .openapi('StepExecution')

/** `limit` and `cursor` of every paged listing. */
const PAGE_QUERY = {
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(MAX_API_PAGE_SIZE)
    .default(DEFAULT_API_PAGE_SIZE)
    .openapi({ param: { name: 'limit', in: 'query' }, type: 'integer' }),
  cursor: z
    .string()
    .min(1)
    .max(2048)
    .optional()
    .openapi({ param: { name: 'cursor', in: 'query' }, description: '`nextCursor` of the previous page' }),
}

export const MapItemsQuery = z.object(PAGE_QUERY)

export const VersionSchema = z
  .object({
    version: z.string(),
    fingerprint: z.string().nullable(),
    registered: z.boolean().openapi({ description: 'Whether this deployment can run it' }),
    current: z.boolean().openapi({ description: 'Where new runs start' }),
    inFlight: z.number().int().openapi({ description: 'PENDING, RUNNING and PAUSED runs on this version' }),
    runIds: z
      .array(z.string())
      .optional()
      .openapi({ description: 'For versions not registered here: the oldest in-flight runs (at most 20) to migrate or cancel' }),
  })
  .openapi('WorkflowVersion')

export const ScheduleSchema = z
  .object({
    cron: z.string().openapi({ example: '*/5 * * * *' }),
    timezone: z.string().nullable().openapi({ description: 'IANA time zone of the fields; null for UTC' }),
    missed: z.enum(['skip', 'catchUpLast']).openapi({ description: 'What happens to ticks missed while no engine looked' }),
    paused: z.boolean(),
    nextFireAt: IsoTime.nullable().openapi({ description: 'The next tick; null while paused' }),
    lastFiredAt: IsoTime.nullable().openapi({ description: 'The newest tick that started a run' }),
  })
  .openapi('Schedule')

const WorkflowSummaryShape = {
  id: z.string(),
  name: z.string(),
  version: z.string().openapi({ description: 'The current version: where new runs start' }),
  fingerprint: z.string().optional(),
  description: z.string(),
  steps: z.array(z.object({ id: z.string(), name: z.string(), description: z.string() })),
  edges: z.array(z.tuple([z.string(), z.string()])),
  versions: z.array(VersionSchema).openapi({
    description: 'Registered versions (registration order), then versions no longer registered that still have runs',
  }),
  schedule: ScheduleSchema.nullable().openapi({ description: 'The cron schedule that starts runs; null for none' }),
}
export const WorkflowSummarySchema = z.object(WorkflowSummaryShape).openapi('WorkflowSummary')
export const WorkflowSchema = z
  .object({
    ...WorkflowSummaryShape,
    inputSchema: z
      .record(z.string(), z.unknown())
      .nullable()
      .openapi({ description: 'JSON Schema (draft 2020-12) of the run input; null if not expressible' }),
  })
  .openapi('Workflow')

export const WorkflowParams = z.object({
  workflowId: IdString.openapi({ param: { name: 'workflowId', in: 'path' }, example: 'sequential' }),
})
export const RunParams = z.object({
  runId: IdString.openapi({ param: { name: 'runId', in: 'path' } }),
})
export const StepParams = RunParams.extend({
  stepId: IdString.openapi({ param: { name: 'stepId', in: 'path' }, example: 'add' }),
})

export const EventParams = RunParams.extend({
  name: z
    .string()
    .regex(EVENT_NAME_PATTERN, 'must be 1-100 of A-Z a-z 0-9 _ . : -')
    .openapi({ param: { name: 'name', in: 'path' }, example: 'decision' }),
})

export const SendEventBody = z
  .strictObject({
    payload: AnyJson.openapi({ description: "The event's payload, validated against the wait's schema" }),
  })
  .openapi('SendEvent')

export const RetryRunBody = z
  .strictObject({
    fromStep: IdString.optional().openapi({
      description: 'Re-run this step and everything downstream of it too (default: only the failed step onwards)',
    }),
  })
  .openapi('RetryRun')

export const StartRunQuery = z.object({
  wait: z
    .enum(['true', 'false'])
    .optional()
    .openapi({
      param: { name: 'wait', in: 'query' },
      description: 'Run the workflow within the request: 200 when it ended, 202 if it had to yield',
    }),
})

export const StartRunBody = z
  .strictObject({
    input: AnyJson.openapi({ description: "The run input, validated against the workflow's input schema" }),
    resourceId: z.string().min(1).max(MAX_RESOURCE_ID_LENGTH).optional(),
    tags: z
      .record(z.string().min(1).max(MAX_TAG_KEY_LENGTH), z.string().max(MAX_TAG_VALUE_LENGTH))
      .refine((tags) => Object.keys(tags).length <= MAX_TAGS, `at most ${MAX_TAGS} tags`)
      .optional(),
    idempotencyKey: z
      .string()
      .min(1)
      .max(MAX_IDEMPOTENCY_KEY_LENGTH)
      .optional()
      .openapi({ description: 'A repeated start with the same key returns the existing run (200)' }),
    version: VersionString.optional().openapi({
      description: 'A registered version to start on (default: the current one); an unknown one is 404 WORKFLOW_VERSION_NOT_FOUND',
    }),
    callbackUrl: z.string().optional().openapi({
      description:
        'POSTed the run, signed per Standard Webhooks, once it is terminal. 400 INVALID_ARGUMENT for a malformed URL, a ' +
        'loopback, private or link-local target (unless WEBHOOK_ALLOW_PRIVATE=1), or a server without WEBHOOK_SECRET',
    }),
  })
  .openapi('StartRun')

export const MigrateRunBody = z
  .strictObject({ version: VersionString.openapi({ description: 'A registered version of the run\'s workflow' }) })
  .openapi('MigrateRun')

/** `key:value` (split at the first colon), so a tag whose key holds a colon cannot be searched for. */
const TagFilter = z
  .string()
  .max(MAX_TAG_KEY_LENGTH + 1 + MAX_TAG_VALUE_LENGTH)
  .refine((tag) => tag.indexOf(':') > 0, 'a tag filter is key:value, with a non-empty key')

/** The repeated `tag` query parameters as one record; a key given twice is refused (it could match nothing). */
const TagFilters = z
  .union([TagFilter, z.array(TagFilter).max(MAX_TAG_FILTERS, `at most ${MAX_TAG_FILTERS} tag filters`)])
  .transform((value, ctx) => {
    const tags: Record<string, string> = {}
    for (const tag of Array.isArray(value) ? value : [value]) {
      const colon = tag.indexOf(':')
      const key = tag.slice(0, colon)
      if (Object.hasOwn(tags, key)) {
        ctx.addIssue({ code: 'custom', message: `tag key ${key} is given twice` })
        return z.NEVER
      }
      tags[key] = tag.slice(colon + 1)
    }
    return tags
  })

export const ListRunsQuery = z.object({
  workflowId: IdString.optional().openapi({ param: { name: 'workflowId', in: 'query' } }),
  status: z.enum(RUN_STATUSES).optional().openapi({ param: { name: 'status', in: 'query' } }),
  resourceId: z.string().min(1).max(MAX_RESOURCE_ID_LENGTH).optional().openapi({ param: { name: 'resourceId', in: 'query' } }),
  tag: TagFilters.optional().openapi({
    param: { name: 'tag', in: 'query', style: 'form', explode: true },
    description: 'Runs carrying this tag, as `key:value`; repeat for several (all must match)',
    type: 'array',
    items: { type: 'string' },
  }),
  ...PAGE_QUERY,
})

export const RunBody = z.object({ run: RunSchema })

export const ChildRunSchema = z
  .object({
    stepId: z.string().openapi({ description: "The parent's child-workflow step" }),
    runId: z.string(),
    workflowId: z.string(),
    status: z.enum(RUN_STATUSES),
  })
  .openapi('ChildRun')
