/**
 * @module
 * `npm start` as a real process on a LibSQL file whose database file is deleted under it: SQLite carries on
 * writing to the unlinked file, so `/health` must say so (503 with the reason) and the log must say why. And a
 * store opened over a -shm its process cannot write, which is refused at open instead of failing every write.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { chmodSync, rmSync } from 'node:fs'
import { createInterface } from 'node:readline'
import { afterEach, describe, expect, it } from 'vitest'
import { tempDir, type TempDir } from '../support/libsql-harness'

const TOKEN = 'file-faults-token'

interface Server {
  readonly proc: ChildProcess
  readonly url: string
  /** Resolves with the first output line (stdout or stderr) that satisfies `match`. */
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
  const seen: string[] = []
  const waiting: { match: (line: string) => boolean; resolve: (line: string) => void }[] = []
  // Error events go to stderr, the rest to stdout: both are read line by line.
  for (const stream of [proc.stdout, proc.stderr]) {
    createInterface({ input: stream as NodeJS.ReadableStream }).on('line', (line) => {
      seen.push(line)
      for (const w of waiting.splice(0)) if (w.match(line)) w.resolve(line)
      else waiting.push(w)
    })
  }
  const line = (match: (line: string) => boolean) =>
    new Promise<string>((resolve, reject) => {
      const earlier = seen.find(match)
      if (earlier !== undefined) return resolve(earlier)
      waiting.push({ match, resolve })
      proc.once('exit', (code, signal) => reject(new Error(`server exited (${code ?? signal}): ${seen.join('\n')}`)))
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

  it('refuses to open a database whose -shm this user cannot write, naming the file', async () => {
    dir = tempDir('gorkflow-faults-')
    chmodSync(dir.path, 0o777)
    const file = dir.file('g.db')
    // Root passes every access check: as root, the store is opened by a child that has dropped to `nobody`.
    const asUser = process.getuid?.() === 0 ? ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'] : []
    const open = (mode: 'hold' | 'once') => {
      const script = `import('./src/store/libsql/create-libsql-store.ts').then(async (m) => {
        try {
          const store = await m.createLibSQLStore({ url: ${JSON.stringify(`file:${file}`)} })
          console.log('opened')
          if (${JSON.stringify(mode)} === 'hold') setInterval(() => {}, 1000)
          else await store.close()
        } catch (err) { console.log(err.message) }
      })`
      const argv = [...asUser, process.execPath, '--import', 'tsx', '-e', script]
      return { command: argv[0] as string, args: argv.slice(1) }
    }
    // A process killed while it holds the database leaves its -wal and -shm behind.
    const holder = open('hold')
    const proc = spawn(holder.command, holder.args, { stdio: ['ignore', 'pipe', 'inherit'] })
    await new Promise<void>((resolve, reject) => {
      createInterface({ input: proc.stdout as NodeJS.ReadableStream }).once('line', (line) =>
        line === 'opened' ? resolve() : reject(new Error(line)),
      )
    })
    const exited = new Promise((resolve) => proc.once('exit', resolve))
    proc.kill('SIGKILL')
    await exited
    chmodSync(`${file}-shm`, 0o444)

    const second = open('once')
    const child = spawnSync(second.command, second.args, { encoding: 'utf8' })
    expect(child.stdout.trim()).toBe(`libsql store: cannot open file:${file}: -shm file not writable (EACCES)`)
  }, 60_000)
})
