/**
 * @module
 * A {@link Session} that runs the workloads end to end through the HTTP API: `POST
 * /v1/workflows/:id/runs?wait=true` with a bearer token, one request per run, answered once the run is terminal.
 *
 * The client is `node:http` with keep-alive, not `fetch`: on Node 20 a fetch to a local server costs ~1.3 ms
 * more CPU per request (0.30 vs 1.58 ms client + server, measured on this machine class), CPU the server being
 * measured would otherwise share.
 */
import { Agent, request } from 'node:http'
import { W3_RUNS } from '../workload-sizes'
import type { Durability } from '../../src/core/step-config'
import { EXPECTED_N, assertCompleted, benchWorkflows } from '../workloads'
import type { Session } from './target'

export interface HttpSessionOptions {
  /** Base URL of the API (`http://127.0.0.1:8787`). */
  readonly url: string
  readonly token: string
  /** Which mode's W1 and W2 the runs start. @default 'step' */
  readonly durability?: Durability
  /**
   * W3 as one `POST /bench/workflows/:id/batch?runs=100` (same token and body), which the Worker answers with
   * `{ runs }` once every run has ended, instead of 100 concurrent requests (bench/worker.ts says why).
   * @default false
   */
  readonly batchInOneRequest?: boolean
  readonly storeCalls?: () => number | null
  readonly endpointRequests?: () => Promise<number | null>
  readonly peakRssKiB: () => Promise<number>
  readonly close: () => Promise<void>
}

const START_BODY = '{"input":{"n":0}}'

export function httpSession(options: HttpSessionOptions): Session {
  const agent = new Agent({ keepAlive: true })
  const { w1, w2 } = benchWorkflows(options.durability)
  const headers = { authorization: `Bearer ${options.token}`, 'content-type': 'application/json' }
  const start = async (workflowId: string, expected: number): Promise<void> => {
    const url = `${options.url}/v1/workflows/${workflowId}/runs?wait=true`
    const { status, text } = await post(url, headers, START_BODY, agent)
    if (status !== 200) throw new Error(`POST ${workflowId} answered ${status}: ${text.slice(0, 500)}`)
    const { run } = JSON.parse(text) as { run: { status: string; output?: unknown; error?: unknown } }
    assertCompleted(run.status, run.output, expected, run.error)
  }
  return {
    run: (workload) => (workload === 'W1' ? start(w1.id, EXPECTED_N.W1) : start(w2.id, EXPECTED_N.W2)),
    batch: async () => {
      if (!options.batchInOneRequest) {
        await Promise.all(Array.from({ length: W3_RUNS }, () => start(w1.id, EXPECTED_N.W1)))
        return
      }
      const url = `${options.url}/bench/workflows/${w1.id}/batch?runs=${W3_RUNS}`
      const { status, text } = await post(url, headers, START_BODY, agent)
      if (status !== 200) throw new Error(`POST ${w1.id} batch answered ${status}: ${text.slice(0, 500)}`)
      const { runs } = JSON.parse(text) as { runs: { status: string; output?: unknown; error?: unknown }[] }
      if (runs.length !== W3_RUNS) throw new Error(`a batch of ${W3_RUNS} ran ${runs.length} runs`)
      for (const run of runs) assertCompleted(run.status, run.output, EXPECTED_N.W3, run.error)
    },
    storeCalls: options.storeCalls ?? (() => null),
    endpointRequests: options.endpointRequests ?? (async () => null),
    peakRssKiB: options.peakRssKiB,
    close: async () => {
      agent.destroy()
      await options.close()
    },
  }
}

function post(url: string, headers: Record<string, string>, body: string, agent: Agent): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers, agent }, (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => (text += chunk))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }))
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end(body)
  })
}
