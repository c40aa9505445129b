/**
 * @module
 * The LibSQL store over HTTP (the Workers code path: `@libsql/client/web`, one request per store call) against
 * the local endpoint, with 0 ms or 20 ms added to every request — 20 ms is a Turso round trip from a nearby
 * edge location.
 */
import { createRemoteLibSQLStore } from '../../src/store/libsql/remote-libsql-store'
import { engineSession } from './engine-session'
import { startEndpoint } from './libsql-endpoint'
import { DEFAULT_BUDGET, type Target } from './target'

function libsqlHttpTarget(latencyMs: number): Target {
  const slow = latencyMs > 0
  return {
    id: `libsql-http-${latencyMs}ms`,
    title: `LibSQL HTTP, ${latencyMs} ms`,
    // With 20 ms a W1 run takes ~250 ms: W1 answers the round-trip question, W2/W3 would only add minutes.
    workloads: slow ? ['W1'] : ['W1', 'W2', 'W3'],
    budget: slow ? { ...DEFAULT_BUDGET, warmupMs: 600, repetitionMs: 1_000, minRuns: 4 } : DEFAULT_BUDGET,
    async open() {
      const endpoint = await startEndpoint(latencyMs)
      const store = await createRemoteLibSQLStore({ url: endpoint.url, authToken: endpoint.token })
      return engineSession({ store, endpointRequests: () => endpoint.requests(), close: () => endpoint.close() })
    },
  }
}

export const libsqlHttp0Target = libsqlHttpTarget(0)
export const libsqlHttp20Target = libsqlHttpTarget(20)
