/**
 * @module
 * The LibSQL store over HTTP (the Workers code path: `@libsql/client/web`, one request per store call) against
 * the local endpoint, with 0 ms or 20 ms added to every request — 20 ms is a Turso round trip from a nearby
 * edge location. In both durability modes (issue #18).
 */
import { createRemoteLibSQLStore } from '../../src/store/libsql/remote-libsql-store'
import type { Durability } from '../../src/core/step-config'
import { engineSession } from './engine-session'
import { startEndpoint } from './libsql-endpoint'
import { DEFAULT_BUDGET, type Target } from './target'

function libsqlHttpTarget(latencyMs: number, durability: Durability): Target {
  const slow = latencyMs > 0
  const pipelined = durability === 'pipelined'
  return {
    id: `libsql-http-${latencyMs}ms${pipelined ? '-pipelined' : ''}`,
    title: `LibSQL HTTP, ${latencyMs} ms${pipelined ? ', pipelined' : ''}`,
    // With 20 ms a W1 run takes ~250 ms: W1 answers the round-trip question, W2/W3 would only add minutes.
    workloads: slow ? ['W1'] : ['W1', 'W2', 'W3'],
    budget: slow ? { ...DEFAULT_BUDGET, warmupMs: 600, repetitionMs: 1_000, minRuns: 4 } : DEFAULT_BUDGET,
    async open() {
      const endpoint = await startEndpoint(latencyMs)
      const store = await createRemoteLibSQLStore({ url: endpoint.url, authToken: endpoint.token })
      return engineSession({
        store,
        durability,
        endpointRequests: () => endpoint.requests(),
        close: () => endpoint.close(),
      })
    },
  }
}

export const libsqlHttp0Target = libsqlHttpTarget(0, 'step')
export const libsqlHttp20Target = libsqlHttpTarget(20, 'step')
export const libsqlHttp0PipelinedTarget = libsqlHttpTarget(0, 'pipelined')
export const libsqlHttp20PipelinedTarget = libsqlHttpTarget(20, 'pipelined')
