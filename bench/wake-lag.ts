/**
 * @module
 * Wake-up lag (issue 15): how late a durable sleep above the inline limit ends, per runtime. Runs of the `nap`
 * example sleep {@link SLEEP_MS} each, started at random moments over {@link SPREAD_MS} so their due times fall
 * anywhere between two polls; a run's lag is `completedAt − createdAt − sleep`, read back through the API. The
 * same client code measures every runtime: only how the server is started differs.
 *
 * - `node-server`: `startNodeServer` as `npm start` runs it (LibSQL file, default sweep settings).
 * - `wrangler-dev`: `npm run dev`'s own `startDev` (wrangler dev with `wrangler.toml`, the local libSQL endpoint,
 *   the cron fired every minute), so whatever wakes runs on Workers is measured as a user would get it.
 *
 * `bench/run.ts` runs each target in its own process (`node --import tsx bench/wake-lag.ts <id> [--quick]`, which
 * prints one `WAKE_RESULT {…}` line) and writes the table into bench/RESULTS.md between the markers below.
 */
import { randomBytes } from 'node:crypto'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { pathToFileURL } from 'node:url'
import { jsonLogger } from '../src/core/logger'
import { startNodeServer } from '../src/node'
import { napWorkflow } from '../src/workflows'
import { drivenDevOptions, startDev } from '../scripts/dev'
import { freePort } from '../test/support/local-server'
import { runAsChild, runInChild } from './child-process'
import { formatMs, quantile } from './stats'
import { tempDir } from './targets/temp-dir'

/** Above the engine's default 5 s inline limit, as in the measurement: the run must yield. */
export const SLEEP_MS = 6_000
/** Runs are started at random moments over this long, so due times do not line up with a poll. */
const SPREAD_MS = 5_000
const RUNS = 40
const QUICK_RUNS = 5
/** A runtime that wakes nothing for this long after the last due time is reported as failed, not waited for. */
const SETTLE_TIMEOUT_MS = 150_000
/** A wake-lag child that hangs is killed after this. */
const WAKE_TIMEOUT_MS = 300_000
const START_MARK = '<!-- wake-lag:start -->'
const END_MARK = '<!-- wake-lag:end -->'

/** A server the client can start naps on. */
interface WakeServer {
  readonly url: string
  readonly token: string
  close(): Promise<void>
}

interface WakeTarget {
  /** Same ids as bench/targets, so `--only` selects both. */
  readonly id: string
  readonly title: string
  start(): Promise<WakeServer>
}

export interface WakeLag {
  readonly target: string
  readonly runs: number
  readonly sleepMs: number
  readonly p50Ms: number
  readonly p99Ms: number
  readonly maxMs: number
}

export type WakeOutcome = { readonly ok: true; readonly result: WakeLag } | { readonly ok: false; readonly target: string; readonly error: string }

export const WAKE_TARGETS: readonly WakeTarget[] = [
  {
    id: 'node-server',
    title: 'Node server (`npm start`: LibSQL file, default sweeper)',
    async start() {
      const dir = tempDir('gorkflow-bench-wake-')
      const token = randomBytes(24).toString('base64url')
      const server = await startNodeServer({
        port: 0,
        apiTokens: [token],
        databaseUrl: pathToFileURL(dir.file('wake.db')).href,
        workflows: [napWorkflow],
        logger: jsonLogger('warn'),
      })
      return {
        url: server.url,
        token,
        close: async () => {
          await server.close()
          dir.remove()
        },
      }
    },
  },
  {
    id: 'wrangler-dev',
    title: '`npm run dev` (the Worker under `wrangler dev`, LibSQL over HTTP)',
    async start() {
      const dir = tempDir('gorkflow-bench-wake-dev-')
      const token = randomBytes(24).toString('base64url')
      const session = await startDev(drivenDevOptions(dir.path, await freePort(), token, { sweepIntervalMs: 60_000 }))
      return {
        url: session.url,
        token: session.token,
        close: async () => {
          await session.stop()
          dir.remove()
        },
      }
    },
  },
]

/** Starts `runs` naps over {@link SPREAD_MS} on `server`, waits until all completed, and returns their lags. */
async function napLags(server: WakeServer, runs: number): Promise<number[]> {
  const headers = { authorization: `Bearer ${server.token}`, 'content-type': 'application/json' }
  const started = await Promise.all(
    Array.from({ length: runs }, async () => {
      await new Promise((wait) => setTimeout(wait, Math.random() * SPREAD_MS))
      const res = await fetch(`${server.url}/v1/workflows/nap/runs`, { method: 'POST', headers, body: JSON.stringify({ input: { ms: SLEEP_MS } }) })
      if (res.status !== 202 && res.status !== 200) throw new Error(`starting a nap answered ${res.status}: ${await res.text()}`)
      return ((await res.json()) as { run: { runId: string } }).run.runId
    }),
  )
  const pending = new Set(started)
  const lags: number[] = []
  const deadline = Date.now() + SLEEP_MS + SETTLE_TIMEOUT_MS
  while (pending.size > 0) {
    if (Date.now() > deadline) throw new Error(`${pending.size} of ${runs} naps not completed ${SETTLE_TIMEOUT_MS / 1000} s after they were due`)
    await new Promise((wait) => setTimeout(wait, 250))
    const res = await fetch(`${server.url}/v1/runs?workflowId=nap&limit=${Math.min(1000, runs)}`, { headers })
    const { runs: page } = (await res.json()) as { runs: { runId: string; status: string; createdAt: string; completedAt?: string }[] }
    for (const run of page) {
      if (!pending.has(run.runId) || run.completedAt === undefined) continue
      if (run.status !== 'COMPLETED') throw new Error(`nap ${run.runId} ended ${run.status}`)
      pending.delete(run.runId)
      lags.push(Date.parse(run.completedAt) - Date.parse(run.createdAt) - SLEEP_MS)
    }
  }
  return lags
}

export async function measureWakeLag(targetId: string, options: { quick?: boolean } = {}): Promise<WakeLag> {
  const target = WAKE_TARGETS.find((t) => t.id === targetId)
  if (!target) throw new Error(`unknown wake-lag target ${targetId}; known: ${WAKE_TARGETS.map((t) => t.id).join(', ')}`)
  const server = await target.start()
  try {
    const lags = await napLags(server, options.quick ? QUICK_RUNS : RUNS)
    return {
      target: targetId,
      runs: lags.length,
      sleepMs: SLEEP_MS,
      p50Ms: quantile(lags, 0.5),
      p99Ms: quantile(lags, 0.99),
      maxMs: Math.max(...lags),
    }
  } finally {
    await server.close()
  }
}

/** Measures each target in a fresh process, as bench/run.ts does for the other workloads. */
export async function measureWakeLagInChildren(ids: readonly string[], options: { quick: boolean }): Promise<WakeOutcome[]> {
  const outcomes: WakeOutcome[] = []
  for (const id of ids) {
    process.stdout.write(`${id} wake-up lag … `)
    const child = await runInChild<WakeLag>(import.meta.url, [id, ...(options.quick ? ['--quick'] : [])], WAKE_TIMEOUT_MS)
    const outcome: WakeOutcome = child.ok ? child : { ok: false, target: id, error: child.error }
    console.log(outcome.ok ? `p50 ${formatMs(outcome.result.p50Ms)} ms, p99 ${formatMs(outcome.result.p99Ms)} ms` : `FAILED\n${outcome.error}`)
    outcomes.push(outcome)
  }
  return outcomes
}

export const WAKE_TARGET_IDS: readonly string[] = WAKE_TARGETS.map((t) => t.id)

/**
 * The wake-up lag section of RESULTS.md, markers included. Rows of targets not measured this time are kept from
 * `previous` (the file's text), marked as earlier measurements.
 */
export function wakeLagSection(outcomes: readonly WakeOutcome[], command: string, when: string, previous = ''): string {
  const title = (id: string) => WAKE_TARGETS.find((t) => t.id === id)?.title ?? id
  const measured = new Set(outcomes.map((o) => (o.ok ? o.result.target : o.target)))
  const kept = WAKE_TARGETS.filter((t) => !measured.has(t.id)).flatMap((t) => {
    const row = previous.split('\n').find((line) => line.startsWith(`| ${t.title}`))
    return row === undefined ? [] : [row.replace(`| ${t.title} |`, `| ${t.title} (earlier run) |`).replace(' (earlier run) (earlier run)', ' (earlier run)')]
  })
  const rows = outcomes.map((o) =>
    o.ok
      ? `| ${title(o.result.target)} | ${o.result.runs} | ${formatMs(o.result.p50Ms)} | ${formatMs(o.result.p99Ms)} | ${formatMs(o.result.maxMs)} |`
      : `| ${title(o.target)} | failed: ${o.error.split('\n')[0]?.slice(0, 120) ?? ''} | | | |`,
  )
  return [
    START_MARK,
    '## Wake-up lag (issue 15)',
    '',
    `Runs of the \`nap\` example sleeping ${SLEEP_MS / 1000} s (above the 5 s inline limit, so each yields and must be`,
    `woken), started at random moments over ${SPREAD_MS / 1000} s; lag = completedAt − createdAt − ${SLEEP_MS / 1000} s. Goal: p99 ≤ 1 s.`,
    `Measured on ${when}, with \`${command}\`. Before the Node sweeper's timer: p50 2.2 s, max 3.7 s; \`npm run dev\`: p50 53 s.`,
    '',
    '| Runtime | runs | lag p50 ms | lag p99 ms | lag max ms |',
    '|---|---:|---:|---:|---:|',
    ...rows,
    ...kept,
    END_MARK,
  ].join('\n')
}

/** Puts `section` into `file` in place of the previous one (between the markers), or appends it. */
export function writeWakeLagSection(file: string, section: string): void {
  const text = existsSync(file) ? readFileSync(file, 'utf8') : ''
  const start = text.indexOf(START_MARK)
  const end = text.indexOf(END_MARK)
  const next =
    start >= 0 && end > start
      ? `${text.slice(0, start)}${section}${text.slice(end + END_MARK.length)}`
      : `${text.replace(/\n*$/, '')}\n\n${section}\n`
  writeFileSync(file, next)
}

runAsChild(import.meta.url, (args) => measureWakeLag(args[0] as string, { quick: args.includes('--quick') }))
