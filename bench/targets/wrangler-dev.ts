/**
 * @module
 * The workloads end to end through the Worker under `wrangler dev` (workerd, as deployed), with the LibSQL
 * store over HTTP to the local endpoint (`npm run dev`'s setup) — and, to tell the store's round trips from
 * everything else, with the in-isolate memory store. The entry is `bench/worker.ts`: the shipped Worker plus
 * the benchmark workflows of both durability modes. Logging at `warn`, as for the Node server.
 *
 * W3 is one request to the Worker's batch route (bench/worker.ts), which starts the 100 runs inside the isolate,
 * as the Cloudflare Workflows peer does. With 100 concurrent requests, each held for the seconds a batch takes
 * on a busy machine, wrangler's dev proxy reset its connections to workerd and answered 503 "Your worker
 * restarted mid-request" for some of them (seen for our Worker and for the peer, inspector on or off).
 */
import { randomBytes } from 'node:crypto'
import type { Durability } from '../../src/core/step-config'
import { httpSession } from './http-session'
import { startEndpoint } from './libsql-endpoint'
import { DEFAULT_BUDGET, type Session, type Target } from './target'
import { startWranglerWorker, type Launcher } from './wrangler-process'

interface Variant {
  readonly store: 'libsql' | 'memory'
  readonly launcher: Launcher
  readonly durability: Durability
}

function wranglerDevTarget(variant: Variant): Target {
  const { store, launcher, durability } = variant
  const inspectorOff = launcher === 'api'
  const pipelined = durability === 'pipelined'
  return {
    id: `wrangler-dev${store === 'memory' ? '-memory' : ''}${inspectorOff ? '-no-inspector' : ''}${pipelined ? '-pipelined' : ''}`,
    title:
      `\`wrangler dev\`${inspectorOff ? ' (API, inspector off)' : ''}, ` +
      (store === 'libsql' ? 'LibSQL HTTP 0 ms' : 'memory store') +
      (pipelined ? ', pipelined' : ''),
    // The memory store lives in the isolate: W1 through it is the Worker's own cost, without store round trips.
    workloads: store === 'libsql' && !inspectorOff ? ['W1', 'W2', 'W3'] : ['W1'],
    budget: { ...DEFAULT_BUDGET, warmupMs: 1_500, batches: 3 },
    open: () => openWrangler(variant),
  }
}

async function openWrangler({ store, launcher, durability }: Variant): Promise<Session> {
  const endpoint = store === 'libsql' ? await startEndpoint(0) : null
  const token = randomBytes(24).toString('base64url')
  const vars: Record<string, string> = {
    STORE: store,
    ...(endpoint ? { TURSO_DATABASE_URL: endpoint.url, TURSO_AUTH_TOKEN: endpoint.token } : {}),
    API_TOKEN: token,
    LOG_LEVEL: 'warn',
  }
  let worker
  try {
    worker = await startWranglerWorker({ entry: 'bench/worker.ts', vars, launcher })
  } catch (err) {
    await endpoint?.close()
    throw err
  }
  return httpSession({
    url: worker.url,
    token,
    durability,
    batchInOneRequest: true,
    endpointRequests: async () => (endpoint ? endpoint.requests() : null),
    // The engine runs in workerd, not in wrangler's Node process.
    peakRssKiB: async () => worker.peakRssKiB(),
    close: async () => {
      await worker.close()
      await endpoint?.close()
    },
  })
}

export const wranglerDevLibsqlTarget = wranglerDevTarget({ store: 'libsql', launcher: 'cli', durability: 'step' })
export const wranglerDevMemoryTarget = wranglerDevTarget({ store: 'memory', launcher: 'cli', durability: 'step' })
export const wranglerApiLibsqlTarget = wranglerDevTarget({ store: 'libsql', launcher: 'api', durability: 'step' })
export const wranglerDevLibsqlPipelinedTarget = wranglerDevTarget({ store: 'libsql', launcher: 'cli', durability: 'pipelined' })
export const wranglerApiLibsqlPipelinedTarget = wranglerDevTarget({ store: 'libsql', launcher: 'api', durability: 'pipelined' })
