/**
 * @module
 * What one outbound request costs a Worker under `wrangler dev`, with the devtools inspector on (the CLI) and off
 * (wrangler's API, bench/start-worker.ts), next to what the same request costs Node: the round trip of one store
 * call over HTTP (`execute SELECT 1` + `close` to the local libSQL endpoint), made `--requests` times in sequence,
 * by the Worker of bench/probes/worker-fetch-cost/ and by Node's `fetch` and `node:http` (keep-alive), in
 * alternating rounds so the machine's load falls on all alike.
 *
 * Per request, medians of the rounds: the wall time seen by the caller (for the Worker, inside workerd, whose
 * clock advances across I/O), the CPU time of the caller (Node: this process; Worker: wrangler and every process
 * it started, workerd and the dev proxy included) and the endpoint's own CPU time.
 *
 * Run: `npx tsx bench/probes/worker-fetch-cost.ts [--requests 200] [--rounds 5]`. Offline; stops what it starts.
 */
import { Agent, request } from 'node:http'
import { parseArgs } from 'node:util'
import { median } from '../stats'
import { startEndpoint, type LibsqlEndpoint } from '../targets/libsql-endpoint'
import { cpuMs } from '../targets/processes'
import { startWranglerWorker, type WranglerWorker } from '../targets/wrangler-process'

const PROBE_CONFIG = 'bench/probes/worker-fetch-cost/wrangler.toml'
const BODY = JSON.stringify({ requests: [{ type: 'execute', stmt: { sql: 'SELECT 1' } }, { type: 'close' }] })

interface Sample {
  /** Wall time per request, ms. */
  readonly wallMs: number
  /** CPU time of the caller per request, ms. */
  readonly callerCpuMs: number
  /** CPU time of the endpoint per request, ms. */
  readonly endpointCpuMs: number
}

/** Makes `n` sequential requests one way and says how long they took, in ms of wall time. */
type Caller = (n: number) => Promise<number>
interface Way {
  readonly name: string
  readonly call: Caller
  /** CPU time of the caller so far, ms. */
  readonly cpu: () => number
}

const { values } = parseArgs({ options: { requests: { type: 'string', default: '200' }, rounds: { type: 'string', default: '5' } } })
const requests = Number(values.requests)
const rounds = Number(values.rounds)

function nodeFetch(endpoint: LibsqlEndpoint): Caller {
  const headers = { authorization: `Bearer ${endpoint.token}`, 'content-type': 'application/json' }
  return async (n) => {
    const start = performance.now()
    for (let i = 0; i < n; i++) {
      const res = await fetch(`${endpoint.url}/v2/pipeline`, { method: 'POST', headers, body: BODY })
      if (!res.ok) throw new Error(`the endpoint answered ${res.status}`)
      await res.arrayBuffer()
    }
    return performance.now() - start
  }
}

function nodeHttp(endpoint: LibsqlEndpoint, agent: Agent): Caller {
  const headers = { authorization: `Bearer ${endpoint.token}`, 'content-type': 'application/json' }
  const once = () =>
    new Promise<void>((resolve, reject) => {
      const req = request(`${endpoint.url}/v2/pipeline`, { method: 'POST', headers, agent }, (res) => {
        res.resume()
        res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`the endpoint answered ${res.statusCode}`))))
      })
      req.on('error', reject)
      req.end(BODY)
    })
  return async (n) => {
    const start = performance.now()
    for (let i = 0; i < n; i++) await once()
    return performance.now() - start
  }
}

function viaWorker(worker: WranglerWorker, endpoint: LibsqlEndpoint): Caller {
  return async (n) => {
    const res = await fetch(`${worker.url}/probe?n=${n}`, {
      method: 'POST',
      headers: { 'x-endpoint': endpoint.url, 'x-endpoint-token': endpoint.token },
    })
    const body = (await res.json()) as { ms?: number; error?: string }
    if (!res.ok || body.ms === undefined) throw new Error(`the probe Worker answered ${res.status}: ${body.error}`)
    return body.ms
  }
}

async function sample(way: Way, endpoint: LibsqlEndpoint): Promise<Sample> {
  const caller0 = way.cpu()
  const endpoint0 = cpuMs(endpoint.pid) ?? 0
  const wall = await way.call(requests)
  return {
    wallMs: wall / requests,
    callerCpuMs: (way.cpu() - caller0) / requests,
    endpointCpuMs: ((cpuMs(endpoint.pid) ?? 0) - endpoint0) / requests,
  }
}

const endpoint = await startEndpoint(0)
const agent = new Agent({ keepAlive: true })
const started: WranglerWorker[] = []
try {
  const inspectorOn = await startWranglerWorker({ config: PROBE_CONFIG, vars: {}, launcher: 'cli' })
  started.push(inspectorOn)
  const inspectorOff = await startWranglerWorker({ config: PROBE_CONFIG, vars: {}, launcher: 'api' })
  started.push(inspectorOff)
  const nodeCpu = () => {
    const { user, system } = process.cpuUsage()
    return (user + system) / 1000
  }
  const ways: Way[] = [
    { name: 'Node 20 `fetch` (undici)', call: nodeFetch(endpoint), cpu: nodeCpu },
    { name: 'Node 20 `node:http`, keep-alive', call: nodeHttp(endpoint, agent), cpu: nodeCpu },
    { name: 'Worker, `wrangler dev` (inspector on)', call: viaWorker(inspectorOn, endpoint), cpu: () => inspectorOn.cpuMs() },
    { name: 'Worker, wrangler API (inspector off)', call: viaWorker(inspectorOff, endpoint), cpu: () => inspectorOff.cpuMs() },
  ]
  for (const way of ways) await way.call(Math.min(50, requests)) // warm-up: JIT, connections
  const samples = new Map<string, Sample[]>(ways.map((w) => [w.name, []]))
  for (let round = 0; round < rounds; round++) {
    for (const way of ways) samples.get(way.name)?.push(await sample(way, endpoint))
  }
  console.log(`${requests} sequential requests × ${rounds} rounds; per request, median of rounds (CPU: 10 ms ticks / ${requests})\n`)
  console.log('| caller | wall ms | caller CPU ms | endpoint CPU ms |')
  console.log('|---|---:|---:|---:|')
  for (const way of ways) {
    const list = samples.get(way.name) ?? []
    const m = (pick: (s: Sample) => number) => median(list.map(pick)).toFixed(2)
    console.log(`| ${way.name} | ${m((s) => s.wallMs)} | ${m((s) => s.callerCpuMs)} | ${m((s) => s.endpointCpuMs)} |`)
  }
} finally {
  agent.destroy()
  for (const worker of started) await worker.close()
  await endpoint.close()
}
