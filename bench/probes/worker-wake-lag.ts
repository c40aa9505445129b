/**
 * @module
 * Wake-ups of the Worker under `npm run dev` (scripts/dev.ts: wrangler dev + the local libSQL endpoint) with the
 * cron never fired, so every wake-up is the platform's own scheduling (each run's Durable Object alarm):
 * - `start`: async starts of `sequential` (3 steps), one after another: the 202's latency seen by the client and
 *   the run's `completedAt − createdAt` (what handing the run to its alarm adds to a start);
 * - `nap`: `nap` runs (a durable sleep of `--sleep-ms`, above the 5 s inline limit) started 250 ms apart; lag =
 *   `completedAt − createdAt − sleep`;
 * - `long`: one async `sleep` run whose single step waits `--long-ms` (60 s by default): `completedAt − createdAt`.
 *
 * Run: `npx tsx bench/probes/worker-wake-lag.ts [--runs 20] [--sleep-ms 6000] [--long-ms 60000] [--only start]`.
 * Prints one JSON line per measurement and a summary. Stops everything it started.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { drivenDevOptions, startDev, type DevSession } from '../../scripts/dev'
import { freePort } from '../../test/support/local-server'
import { quantile } from '../stats'

const TOKEN = 'wake-lag-probe-token'
const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '20' },
    'sleep-ms': { type: 'string', default: '6000' },
    'long-ms': { type: 'string', default: '60000' },
    only: { type: 'string' },
  },
})
const RUNS = Number(values.runs)
const SLEEP_MS = Number(values['sleep-ms'])
const LONG_MS = Number(values['long-ms'])
const only = values.only

async function api(session: DevSession, method: string, path: string, body?: unknown): Promise<any> {
  const res = await fetch(`${session.url}${path}`, {
    method,
    headers: { Authorization: `Bearer ${TOKEN}`, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  })
  if (res.status >= 400) throw new Error(`${method} ${path}: HTTP ${res.status} ${await res.text()}`)
  return res.json()
}

async function completed(session: DevSession, runId: string, timeoutMs: number): Promise<any> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const { run } = await api(session, 'GET', `/v1/runs/${runId}`)
    if (run.status === 'COMPLETED') return run
    if (run.status === 'FAILED' || run.status === 'CANCELLED') throw new Error(`run ${runId} ended ${run.status}`)
    if (Date.now() > deadline) throw new Error(`run ${runId} is still ${run.status} after ${timeoutMs} ms`)
    await new Promise((wake) => setTimeout(wake, 100))
  }
}

const span = (run: any) => Date.parse(run.completedAt) - Date.parse(run.createdAt)
const summary = (xs: number[]) => ({ n: xs.length, p50: quantile(xs, 0.5), p99: quantile(xs, 0.99), max: Math.max(...xs) })

const dir = mkdtempSync(join(tmpdir(), 'gorkflow-wake-lag-'))
let session: DevSession | undefined
try {
  session = await startDev(drivenDevOptions(dir, await freePort(), TOKEN))
  const results: Record<string, unknown> = {}

  if (!only || only === 'start') {
    await completed(session, (await api(session, 'POST', '/v1/workflows/sequential/runs', { input: { val1: 1, val2: 1, mult: 1 } })).run.runId, 30_000)
    const answered: number[] = []
    const spans: number[] = []
    for (let i = 0; i < RUNS; i++) {
      const sent = performance.now()
      const { run } = await api(session, 'POST', '/v1/workflows/sequential/runs', { input: { val1: i, val2: 1, mult: 2 } })
      answered.push(performance.now() - sent)
      spans.push(span(await completed(session, run.runId, 30_000)))
    }
    results.start = { responseMs: summary(answered), startToCompletedMs: summary(spans) }
    console.log(JSON.stringify({ start: results.start }))
  }

  if (!only || only === 'nap') {
    const ids: string[] = []
    for (let i = 0; i < RUNS; i++) {
      ids.push((await api(session, 'POST', '/v1/workflows/nap/runs', { input: { ms: SLEEP_MS } })).run.runId)
      await new Promise((wake) => setTimeout(wake, 250))
    }
    const lags: number[] = []
    for (const id of ids) lags.push(span(await completed(session, id, SLEEP_MS + 120_000)) - SLEEP_MS)
    results.nap = { sleepMs: SLEEP_MS, lagMs: summary(lags) }
    console.log(JSON.stringify({ nap: results.nap }))
  }

  if (!only || only === 'long') {
    const { run } = await api(session, 'POST', '/v1/workflows/sleep/runs', { input: { ms: LONG_MS } })
    const done = await completed(session, run.runId, LONG_MS + 120_000)
    results.long = { stepMs: LONG_MS, startToCompletedMs: span(done) }
    console.log(JSON.stringify({ long: results.long }))
  }
  console.log(JSON.stringify({ summary: results }, null, 2))
} finally {
  await session?.stop()
  rmSync(dir, { recursive: true, force: true })
}
