/**
 * @module
 * A Worker under wrangler's dev server in a process group of its own, for the targets that measure through it
 * (`wrangler-dev.ts`, `cf-workflows.ts`): started, waited for until `GET /health` answers, and stopped with
 * everything it spawned.
 */
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { wranglerEnv } from '../../scripts/dev'
import { freePort } from '../../test/support/local-server'
import { cpuMs, descendants, peakRssKiB } from './processes'
import { tempDir } from './temp-dir'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const WRANGLER = fileURLToPath(new URL('../../node_modules/wrangler/bin/wrangler.js', import.meta.url))
const TSX = fileURLToPath(new URL('../../node_modules/tsx/dist/cli.mjs', import.meta.url))
/** Bundling and starting workerd; ~1.5 s warm (STACK.md), much more on a busy machine. */
const READY_TIMEOUT_MS = 90_000

/**
 * `cli`: `wrangler dev`, as `npm run dev` runs it (the devtools inspector on). `api`: wrangler's
 * `unstable_startWorker` with the inspector off (`bench/start-worker.ts`), to show what the inspector costs.
 */
export type Launcher = 'cli' | 'api'

export interface WranglerWorkerOptions {
  /** wrangler.toml, relative to the repository. @default the repository's own */
  readonly config?: string
  /** The entry, relative to the repository. @default the config's `main` */
  readonly entry?: string
  readonly vars: Readonly<Record<string, string>>
  readonly launcher: Launcher
}

export interface WranglerWorker {
  readonly url: string
  /** Peak resident set of the workerd processes running the Worker, in KiB (not wrangler's Node process). */
  peakRssKiB(): number
  /** CPU time used so far by wrangler and everything it started (workerd, the dev proxy), in ms. */
  cpuMs(): number
  close(): Promise<void>
}

export async function startWranglerWorker(options: WranglerWorkerOptions): Promise<WranglerWorker> {
  const state = tempDir('gorkflow-bench-wrangler-')
  const port = await freePort()
  const argv =
    options.launcher === 'cli'
      ? [
          WRANGLER, 'dev', ...(options.entry === undefined ? [] : [options.entry]),
          ...(options.config === undefined ? [] : ['--config', options.config]),
          '--ip', '127.0.0.1', '--port', String(port), '--log-level', 'warn', '--persist-to', state.path,
          ...Object.entries(options.vars).flatMap(([name, value]) => ['--var', `${name}:${value}`]),
        ]
      : [
          TSX, 'bench/start-worker.ts',
          JSON.stringify({ config: options.config, entry: options.entry, port, persistTo: state.path, vars: options.vars }),
        ]
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
    state.remove()
  }
  const url = `http://127.0.0.1:${port}`
  try {
    await waitForHealth(url, () => child.exitCode !== null, () => output)
  } catch (err) {
    await close()
    throw err
  }
  return {
    url,
    peakRssKiB: () => {
      const workerd = descendants(child.pid as number).filter((p) => p.command.startsWith('workerd'))
      return Math.max(0, ...workerd.map((p) => peakRssKiB(p.pid) ?? 0))
    },
    cpuMs: () => {
      const pids = [child.pid as number, ...descendants(child.pid as number).map((p) => p.pid)]
      return pids.reduce((total, pid) => total + (cpuMs(pid) ?? 0), 0)
    },
    close,
  }
}

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
