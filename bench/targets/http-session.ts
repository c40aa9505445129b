/**
 * @module
 * A {@link Session} that runs the workloads end to end through the HTTP API: `POST
 * /v1/workflows/:id/runs?wait=true` with a bearer token, one request per run, answered once the run is terminal.
 */
import { EXPECTED_N, W3_RUNS, assertCompleted, w1Workflow, w2Workflow } from '../workloads'
import type { Session } from './target'

export interface HttpSessionOptions {
  /** Base URL of the API (`http://127.0.0.1:8787`). */
  readonly url: string
  readonly token: string
  readonly storeCalls?: () => number | null
  readonly endpointRequests?: () => Promise<number | null>
  readonly peakRssKiB: () => Promise<number>
  readonly close: () => Promise<void>
}

export function httpSession(options: HttpSessionOptions): Session {
  const start = async (workflowId: string, expected: number): Promise<void> => {
    const res = await fetch(`${options.url}/v1/workflows/${workflowId}/runs?wait=true`, {
      method: 'POST',
      headers: { authorization: `Bearer ${options.token}`, 'content-type': 'application/json' },
      body: '{"input":{"n":0}}',
    })
    const text = await res.text()
    if (res.status !== 200) throw new Error(`POST ${workflowId} answered ${res.status}: ${text.slice(0, 500)}`)
    const { run } = JSON.parse(text) as { run: { status: string; output?: unknown; error?: unknown } }
    assertCompleted(run.status, run.output, expected, run.error)
  }
  return {
    run: (workload) => (workload === 'W1' ? start(w1Workflow.id, EXPECTED_N.W1) : start(w2Workflow.id, EXPECTED_N.W2)),
    batch: async () => {
      await Promise.all(Array.from({ length: W3_RUNS }, () => start(w1Workflow.id, EXPECTED_N.W1)))
    },
    storeCalls: options.storeCalls ?? (() => null),
    endpointRequests: options.endpointRequests ?? (async () => null),
    peakRssKiB: options.peakRssKiB,
    close: options.close,
  }
}
