/**
 * @module
 * End-to-end latency of `POST /v1/workflows/sequential/runs?wait=true` through `wrangler dev` with the local
 * libSQL endpoint (the `npm run dev` stack): 20 requests one after another, after 3 warm-up requests.
 *
 * Run: `npx tsx scripts/dev-latency.ts [--requests 20]` (starts and stops its own stack on a
 * temporary database), or `--url http://127.0.0.1:8787 --token T` against a running `npm run dev`.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { drivenDevOptions, startDev } from './dev'

const { values } = parseArgs({
  options: {
    requests: { type: 'string', default: '20' },
    url: { type: 'string' },
    token: { type: 'string' },
  },
})

async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolvePort(port))
    })
  })
}

async function measure(url: string, token: string, count: number): Promise<number[]> {
  const once = async (i: number): Promise<number> => {
    const started = performance.now()
    const res = await fetch(`${url}/v1/workflows/sequential/runs?wait=true`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ input: { val1: i, val2: 1, mult: 2 } }),
    })
    const body = (await res.json()) as { run?: { status: string } }
    const elapsed = performance.now() - started
    if (res.status !== 200 || body.run?.status !== 'COMPLETED') {
      throw new Error(`request ${i}: HTTP ${res.status} ${JSON.stringify(body)}`)
    }
    return elapsed
  }
  for (let i = 0; i < 3; i++) await once(-1 - i) // warm-up: bundle load, isolate start, schema check
  const samples: number[] = []
  for (let i = 0; i < count; i++) samples.push(await once(i))
  return samples
}

function report(samples: number[]): void {
  const sorted = [...samples].sort((a, b) => a - b)
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!
  const median = sorted.length % 2 === 1 ? at(0.5) : (sorted[sorted.length / 2 - 1]! + sorted[sorted.length / 2]!) / 2
  const fmt = (ms: number) => `${ms.toFixed(1)} ms`
  console.log(
    `sequential?wait=true over ${samples.length} requests: median ${fmt(median)}, ` +
      `min ${fmt(sorted[0]!)}, p90 ${fmt(at(0.9))}, max ${fmt(sorted[sorted.length - 1]!)}`,
  )
}

async function main(): Promise<void> {
  const count = Number(values.requests)
  if (values.url) {
    if (!values.token) throw new Error('--url needs --token')
    report(await measure(values.url, values.token, count))
    return
  }
  const dir = mkdtempSync(join(tmpdir(), 'gorkflow-latency-'))
  const session = await startDev(drivenDevOptions(dir, await freePort(), 'latency-token'))
  try {
    report(await measure(session.url, session.token, count))
  } finally {
    await session.stop()
    rmSync(dir, { recursive: true, force: true })
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : String(err))
  process.exit(1)
})
