/**
 * @module
 * The local libSQL HTTP endpoint (`scripts/libsql-server/`) in a process of its own, as a remote database
 * would be: its CPU is not the engine's, and its request counter (`GET /stats`) tells the round trips.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import { tempDir } from './temp-dir'

const SERVER_SCRIPT = fileURLToPath(new URL('../../scripts/libsql-server/cli.ts', import.meta.url))
const READY_TIMEOUT_MS = 30_000

export interface LibsqlEndpoint {
  readonly url: string
  /** The bearer token the endpoint requires. */
  readonly token: string
  readonly pid: number
  /** HTTP requests served so far (`/stats` and `/health` not counted). */
  requests(): Promise<number>
  close(): Promise<void>
}

/** Starts the endpoint on a fresh migrated file in a temp folder, with `latencyMs` added to every request. */
export async function startEndpoint(latencyMs: number): Promise<LibsqlEndpoint> {
  const dir = tempDir()
  const tsx = createRequire(import.meta.url).resolve('tsx')
  const token = randomBytes(24).toString('base64url')
  const child = spawn(
    process.execPath,
    ['--import', tsx, SERVER_SCRIPT, '--db', dir.file('bench.db'), '--port', '0', '--migrate', '--latency-ms', String(latencyMs)],
    // The token through the environment: a command line is readable by every local user.
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LIBSQL_SERVER_TOKEN: token } },
  )
  const killOnExit = () => child.kill('SIGKILL')
  process.once('exit', killOnExit)
  let url: string
  try {
    url = await listeningUrl(child)
  } catch (err) {
    child.kill('SIGKILL')
    dir.remove()
    throw err
  }
  return {
    url,
    token,
    pid: child.pid as number,
    async requests() {
      const res = await fetch(`${url}/stats`, { headers: { authorization: `Bearer ${token}` } })
      return ((await res.json()) as { requests: number }).requests
    },
    async close() {
      process.removeListener('exit', killOnExit)
      if (child.exitCode === null) {
        const exited = new Promise((done) => child.once('exit', done))
        child.kill('SIGTERM')
        await exited
      }
      dir.remove()
    },
  }
}

function listeningUrl(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let output = ''
    const timer = setTimeout(() => reject(new Error(`the libSQL endpoint did not start:\n${output}`)), READY_TIMEOUT_MS)
    const onData = (chunk: Buffer) => {
      output += chunk.toString()
      const match = /listening on (http:\/\/\S+)/.exec(output)
      if (match) {
        clearTimeout(timer)
        resolve(match[1] as string)
      }
    }
    child.stdout?.on('data', onData)
    child.stderr?.on('data', onData)
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`the libSQL endpoint exited with code ${code}:\n${output}`))
    })
  })
}
