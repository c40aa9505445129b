/**
 * @module
 * Server-Sent Events of one run (README, "Live stream"), shared by `GET /v1/runs/:runId/stream` and the dashboard.
 * It reads only what the store records, so it follows a run executing in any process or isolate. Store cost per open
 * stream: one `getRun` per poll interval, and one `listStepExecutions` only when the run's `updatedAt` moved (every
 * commit bumps it). A connection lasts at most `maxConnectionMs`; the `retry:` hint then brings the client back with
 * `Last-Event-ID`, which keeps a Worker's request within its limits.
 */
import type { Context } from 'hono'
import { streamSSE } from 'hono/streaming'
import type { Engine } from '../core/engine'
import { InvalidArgumentError } from '../core/errors'
import type { StepExecution } from '../core/model'
import { eventsAfter, parseEventId, START_CURSOR, type StreamCursor } from './run-events'

/** Default interval between two reads of the run. */
export const DEFAULT_STREAM_POLL_MS = 1_000
/** Floor of the interval whatever the configuration says (tests use it; deployments keep the default). */
export const MIN_STREAM_POLL_MS = 200
/** Default lifetime of one connection, under the ~30 s a Worker's response can count on. */
export const DEFAULT_STREAM_MAX_MS = 25_000

export interface RunStreamOptions {
  readonly pollMs: number
  readonly maxConnectionMs: number
}

/**
 * The stream's response, or an error thrown before it opens (RUN_NOT_FOUND, a malformed `Last-Event-ID`). A client
 * whose last event was the run's end gets 204, which tells an EventSource to stop reconnecting.
 */
export async function runStreamResponse(c: Context, engine: Engine, runId: string, options: RunStreamOptions): Promise<Response> {
  const lastEventId = c.req.header('Last-Event-ID')
  let cursor: StreamCursor = START_CURSOR
  if (lastEventId !== undefined && lastEventId !== '') {
    const parsed = parseEventId(lastEventId)
    if (parsed === null) throw new InvalidArgumentError('Last-Event-ID is not an id this stream sent')
    cursor = parsed
  }
  let run = await engine.getRun(runId)
  if (cursor.known === 'T') return c.body(null, 204)
  return streamSSE(c, async (stream) => {
    const openedAt = Date.now()
    let aborted = false
    stream.onAbort(() => {
      aborted = true
    })
    await stream.write(`retry: ${options.pollMs}\n\n`)
    let steps: StepExecution[] = []
    let stepsReadAt: number | null = null
    for (;;) {
      if (stepsReadAt !== run.updatedAt) {
        steps = await engine.listSteps(runId)
        stepsReadAt = run.updatedAt
      }
      const next = eventsAfter(run, steps, cursor)
      for (const { event, id } of next.events) {
        await stream.writeSSE({ event: event.type, id, data: JSON.stringify(event.data) })
      }
      cursor = next.cursor
      if (cursor.known === 'T' || aborted || Date.now() - openedAt + options.pollMs > options.maxConnectionMs) return
      await stream.sleep(options.pollMs)
      if (aborted) return
      const latest = await engine.getRun(runId).catch(() => null)
      // A run deleted, or a store gone, while streamed: the stream ends and the client's reconnect gets the error.
      if (latest === null) return
      run = latest
    }
  })
}
