/**
 * @module
 * GET /v1/metrics: Prometheus text exposition (README "Metrics"). Run counts by status cost one listing per status,
 * each capped at {@link RUN_COUNT_CAP} runs: a scrape reads at most 6 × 1,000 index entries whatever the table
 * holds, and a count at the cap means "at least".
 */
import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi'
import { RUN_STATUSES } from '../../core/model'
import { MAX_PAGE_SIZE } from '../../core/store'
import type { AppOptions } from '../options'
import { errorResponses } from './responses'

/** Most runs counted per status at each scrape (one listing page). */
export const RUN_COUNT_CAP = MAX_PAGE_SIZE

const BEARER = [{ bearerAuth: [] }]

/**
 * Seconds since the store's earliest due instant (`nextDueAt`, index-backed), or 0. A run that never had a lease or
 * a wake time (an unleased start waiting for its scheduler) is due from instant 0: it is not counted, as its lag
 * cannot be told without reading it; a live lease's expiry in the future is not lag either.
 */
function sweeperLagSeconds(nextDue: number | null, now: number): number {
  return nextDue === null || nextDue <= 0 || nextDue >= now ? 0 : (now - nextDue) / 1000
}

const metrics = createRoute({
  method: 'get',
  path: '/metrics',
  tags: ['metrics'],
  summary: 'Operator counters in Prometheus text format',
  security: BEARER,
  responses: {
    200: { description: 'Prometheus text exposition format 0.0.4', content: { 'text/plain': { schema: z.string() } } },
    ...errorResponses(401, 503),
  },
})

export function metricsRoutes({ engine, metrics: counters }: AppOptions) {
  return new OpenAPIHono().openapi(metrics, async (c) => {
    const now = Date.now()
    const [nextDue, ...counts] = await Promise.all([
      engine.store.nextDueAt(),
      ...RUN_STATUSES.map(async (status) => [status, (await engine.listRuns({ status, limit: RUN_COUNT_CAP })).runs.length] as const),
    ])
    const lines = [
      `# HELP gorkflow_runs Runs by status, counted up to ${RUN_COUNT_CAP} per status (a value at the cap means at least).`,
      '# TYPE gorkflow_runs gauge',
      ...counts.map(([status, count]) => `gorkflow_runs{status="${status}"} ${count}`),
      '# HELP gorkflow_runs_count_cap The most runs gorkflow_runs counts per status.',
      '# TYPE gorkflow_runs_count_cap gauge',
      `gorkflow_runs_count_cap ${RUN_COUNT_CAP}`,
      '# HELP gorkflow_webhook_failures_total Failed completion webhook deliveries by this process.',
      '# TYPE gorkflow_webhook_failures_total counter',
      `gorkflow_webhook_failures_total ${counters?.webhookFailures ?? 0}`,
      '# HELP gorkflow_sweeper_lag_seconds How long the most overdue run has been due without being claimed (0 when none is).',
      '# TYPE gorkflow_sweeper_lag_seconds gauge',
      `gorkflow_sweeper_lag_seconds ${sweeperLagSeconds(nextDue, now)}`,
      ...(counters?.stepDurationLines() ?? []),
    ]
    return c.text(`${lines.join('\n')}\n`, 200, { 'Content-Type': 'text/plain; version=0.0.4; charset=utf-8' })
  })
}
