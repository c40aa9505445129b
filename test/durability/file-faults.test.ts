/**
 * @module
 * `npm start` as a real process on a LibSQL file whose database file is deleted under it: SQLite carries on
 * writing to the unlinked file, so `/health` must say so (503 with the reason) and the log must say why.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { rmSync } from 'node:fs'
import { createInterface } from 'node:readline'
import { afterEach, describe, expect, it } from 'vitest'
import { tempDir, type TempDir } from '../support/libsql-harness'

const TOKEN = 'file-faults-token'

interface Server {
  readonly proc: ChildProcess
  readonly url: string
  /** Resolves with the first stdout line that satisfies `match`. */
  line(match: (line: string) => boolean): Promise<string>
}

let server: Server | undefined
let dir: TempDir | undefined

afterEach(async () => {
  if (server && server.proc.exitCode === null && server.proc.signalCode === null) {
    const exited = new Promise((resolve) => server?.proc.once('exit', resolve))
    server.proc.kill('SIGKILL')
    await exited
  }
  server = undefined
  dir?.dispose()
  dir = undefined
})

async function startServer(dbFile: string): Promise<Server> {
  const proc = spawn(process.execPath, ['--import', 'tsx', 'src/node.ts'], {
    env: {
      ...process.env,
      API_TOKEN: TOKEN,
      PORT: '0',
      DATABASE_URL: `file:${dbFile}`,
      SWEEP_INTERVAL_MS: '0',
      LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stderr = ''
  proc.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  const seen: string[] = []
  const waiting: { match: (line: string) => boolean; resolve: (line: string) => void }[] = []
  createInterface({ input: proc.stdout as NodeJS.ReadableStream }).on('line', (line) => {
    seen.push(line)
    for (const w of waiting.splice(0)) if (w.match(line)) w.resolve(line)
    else waiting.push(w)
  })
  const line = (match: (line: string) => boolean) =>
    new Promise<string>((resolve, reject) => {
      const earlier = seen.find(match)
      if (earlier !== undefined) return resolve(earlier)
      waiting.push({ match, resolve })
      proc.once('exit', (code, signal) => reject(new Error(`server exited (${code ?? signal}): ${stderr}`)))
    })
  const listening = await line((l) => l.startsWith('Gorkflow listening on '))
  const url = /listening on (http:\/\/\S+)/.exec(listening)?.[1] as string
  return { proc, url, line }
}

describe('the Node server on a LibSQL file', () => {
  it('answers /health 503 with the reason and logs store_file_fault once its database file is deleted', async () => {
    dir = tempDir('gorkflow-faults-')
    const file = dir.file('g.db')
    server = await startServer(file)
    expect(await (await fetch(`${server.url}/health`)).json()).toEqual({ ok: true, store: 'libsql' })
    const started = await fetch(`${server.url}/v1/workflows/sequential/runs?wait=true`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ input: { val1: 1, val2: 2, mult: 3 } }),
    })
    expect(started.status).toBe(200)

    rmSync(file)
    const health = await fetch(`${server.url}/health`)
    expect(health.status).toBe(503)
    expect(await health.json()).toEqual({
      ok: false,
      store: 'libsql',
      reason: 'database file deleted or moved while open; writes since then are lost at restart',
    })
    const logged = JSON.parse(await server.line((l) => l.includes('"store_file_fault"')))
    expect(logged).toMatchObject({
      level: 'error',
      event: 'store_file_fault',
      reason: 'database file deleted or moved while open; writes since then are lost at restart',
      path: file,
    })

    // Still 503 on the next check: a deleted file does not come back.
    expect((await fetch(`${server.url}/health`)).status).toBe(503)
    const exited = new Promise<number | null>((resolve) => server?.proc.once('exit', (code) => resolve(code)))
    server.proc.kill('SIGTERM')
    expect(await exited).toBe(0)
  }, 60_000)
})
