/**
 * @module
 * The workloads end to end through the Worker under `wrangler dev` (workerd, as deployed), with the LibSQL
 * store over HTTP to the local endpoint (`npm run dev`'s setup) — and, to tell the store's round trips from
 * everything else, with the in-isolate memory store. The entry is `bench/worker.ts`: the shipped Worker plus
 * the benchmark workflows. Logging at `warn`, as for the Node server.
 */
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { wranglerEnv } from '../../scripts/dev'
import { httpSession } from './http-session'
import { startEndpoint } from './libsql-endpoint'
import { freePort } from '../../test/support/local-server'
import { descendants, peakRssKiB } from './processes'
import { DEFAULT_BUDGET, type Session, type Target } from './target'
import { tempDir } from './temp-dir'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const WRANGLER = fileURLToPath(new URL('../../node_modules/wrangler/bin/wrangler.js', import.meta.url))
const TSX = fileURLToPath(new URL('../../node_modules/tsx/dist/cli.mjs', import.meta.url))
/** Bundling and starting workerd; ~1.5 s warm (STACK.md), much more on a busy machine. */
const READY_TIMEOUT_MS = 90_000

/**
 * `cli`: `wrangler dev`, as `npm run dev` runs it. `api`: wrangler's `unstable_startWorker` with the devtools
 * inspector off (`bench/start-worker.ts`), to show what the inspector costs each outbound fetch.
 */
type Launcher = 'cli' | 'api'

function wranglerDevTarget(store: 'libsql' | 'memory', launcher: Launcher = 'cli'): Target {
  const inspectorOff = launcher === 'api'
  return {
    id: `wrangler-dev${store === 'memory' ? '-memory' : ''}${inspectorOff ? '-no-inspector' : ''}`,
    title:
      `\`wrangler dev\`${inspectorOff ? ' (API, inspector off)' : ''}, ` +
      (store === 'libsql' ? 'LibSQL HTTP 0 ms' : 'memory store'),
    // The memory store lives in the isolate: W1 through it is the Worker's own cost, without store round trips.
    workloads: store === 'libsql' && !inspectorOff ? ['W1', 'W2', 'W3'] : ['W1'],
    budget: { ...DEFAULT_BUDGET, warmupMs: 1_500, batches: 3 },
    open: () => openWrangler(store, launcher),
  }
}

async function openWrangler(store: 'libsql' | 'memory', launcher: Launcher): Promise<Session> {
  const endpoint = store === 'libsql' ? await startEndpoint(0) : null
  const state = tempDir('gorkflow-bench-wrangler-')
  const port = await freePort()
  const token = randomBytes(24).toString('base64url')
  const vars: Record<string, string> = {
    STORE: store,
    ...(endpoint ? { TURSO_DATABASE_URL: endpoint.url, TURSO_AUTH_TOKEN: endpoint.token } : {}),
    API_TOKEN: token,
    LOG_LEVEL: 'warn',
  }
  const argv =
    launcher === 'cli'
      ? [
          WRANGLER, 'dev', 'bench/worker.ts', '--ip', '127.0.0.1', '--port', String(port), '--log-level', 'warn',
          '--persist-to', state.path, ...Object.entries(vars).flatMap(([name, value]) => ['--var', `${name}:${value}`]),
        ]
      : [TSX, 'bench/start-worker.ts', JSON.stringify({ port, persistTo: state.path, vars })]
  const child = spawn(
    process.execPath,
    argv,
    // Own process group, so close() ends wrangler and the workerd it started, and nothing else.
    { cwd: ROOT, env: wranglerEnv(), detached: true, stdio: ['ignore', 'pipe', 'pipe'] },
  )
  let output = ''
  const keep = (chunk: Buffer) => (output = (output + chunk.toString()).slice(-8_000))
  child.stdout.on('data', keep)
  child.stderr.on('data', keep)
  const exited = new Promise<void>((done) => child.once('exit', () => done()))
  const killGroup = (signal: NodeJS.Signals) => {
    try {
      if (child.pid !== undefined) process.kill(-child.pid, signal)
    } catch {
      // already gone
    }
  }
  const killOnExit = () => killGroup('SIGKILL')
  process.once('exit', killOnExit)
  const close = async () => {
    process.removeListener('exit', killOnExit)
    if (child.exitCode === null) {
      killGroup('SIGTERM')
      const timer = setTimeout(() => killGroup('SIGKILL'), 5_000)
      await exited
      clearTimeout(timer)
    }
    await endpoint?.close()
    state.remove()
  }
  const url = `http://127.0.0.1:${port}`
  try {
    await waitForHealth(url, () => child.exitCode !== null, () => output)
  } catch (err) {
    await close()
    throw err
  }
  return httpSession({
    url,
    token,
    endpointRequests: async () => (endpoint ? endpoint.requests() : null),
    // The engine runs in workerd, not in wrangler's Node process.
    peakRssKiB: async () => {
      const workerd = descendants(child.pid as number).filter((p) => p.command.startsWith('workerd'))
      return Math.max(0, ...workerd.map((p) => peakRssKiB(p.pid) ?? 0))
    },
    close,
  })
}

export const wranglerDevLibsqlTarget = wranglerDevTarget('libsql')
export const wranglerDevMemoryTarget = wranglerDevTarget('memory')
export const wranglerApiLibsqlTarget = wranglerDevTarget('libsql', 'api')

async function waitForHealth(url: string, exited: () => boolean, output: () => string): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS
  while (Date.now() < deadline) {
    if (exited()) throw new Error(`wrangler dev exited:\n${output()}`)
    try {
      if ((await fetch(`${url}/health`)).ok) return
    } catch {
      // not listening yet
    }
    await new Promise((wake) => setTimeout(wake, 100))
  }
  throw new Error(`wrangler dev did not answer within ${READY_TIMEOUT_MS / 1000} s:\n${output()}`)
}
