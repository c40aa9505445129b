/**
 * @module
 * Durable Object alarm or Cloudflare Queues `delaySeconds`: how late each fires under `wrangler dev`, for the
 * choice in docs/decisions.md#wake-ups-on-workers. Starts `wrangler dev` on `scheduling-lag/` (its own Worker),
 * arms `--count` alarms and sends as many delayed messages, `--delay-ms` ahead (whole seconds, as Queues need),
 * 100 ms apart, then prints each one's lag p50/p99/max.
 *
 * Run: `npx tsx bench/probes/scheduling-lag.ts [--count 20] [--delay-ms 3000]`. Stops everything it started.
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { wranglerEnv } from '../../scripts/dev'
import { freePort } from '../../test/support/local-server'
import { quantile } from '../stats'

const { values } = parseArgs({ options: { count: { type: 'string', default: '20' }, 'delay-ms': { type: 'string', default: '3000' } } })
const COUNT = Number(values.count)
const DELAY_MS = Number(values['delay-ms'])
const WRANGLER = fileURLToPath(new URL('../../node_modules/wrangler/bin/wrangler.js', import.meta.url))
const HERE = fileURLToPath(new URL('./scheduling-lag/', import.meta.url))

const state = mkdtempSync(join(tmpdir(), 'gorkflow-scheduling-lag-'))
const port = await freePort()
const child = spawn(
  process.execPath,
  [WRANGLER, 'dev', '--ip', '127.0.0.1', '--port', String(port), '--persist-to', state, '--log-level', 'warn'],
  // Own process group, so the end stops wrangler and its workerd, and nothing else.
  { cwd: HERE, env: wranglerEnv(), detached: true, stdio: 'ignore' },
)
const exited = new Promise<void>((done) => child.once('exit', () => done()))
const url = `http://127.0.0.1:${port}`
try {
  for (let ready = false, deadline = Date.now() + 90_000; !ready; ) {
    if (Date.now() > deadline) throw new Error('wrangler dev did not start')
    ready = await fetch(`${url}/results`).then((r) => r.ok, () => false)
    if (!ready) await new Promise((wake) => setTimeout(wake, 200))
  }
  for (let i = 0; i < COUNT; i++) {
    await fetch(`${url}/alarm?ms=${DELAY_MS}`, { method: 'POST' })
    await fetch(`${url}/queue?ms=${DELAY_MS}`, { method: 'POST' })
    await new Promise((wake) => setTimeout(wake, 100))
  }
  let results: { kind: string; lagMs: number }[] = []
  for (let deadline = Date.now() + DELAY_MS + 60_000; results.length < 2 * COUNT && Date.now() < deadline; ) {
    await new Promise((wake) => setTimeout(wake, 500))
    results = (await (await fetch(`${url}/results`)).json()) as typeof results
  }
  for (const kind of ['alarm', 'queue']) {
    const lags = results.filter((r) => r.kind === kind).map((r) => r.lagMs)
    console.log(JSON.stringify({ kind, delayMs: DELAY_MS, fired: lags.length, of: COUNT, p50: quantile(lags, 0.5), p99: quantile(lags, 0.99), max: Math.max(...lags) }))
  }
} finally {
  if (child.exitCode === null && child.pid !== undefined) {
    process.kill(-child.pid, 'SIGTERM')
    await exited
  }
  rmSync(state, { recursive: true, force: true })
}
