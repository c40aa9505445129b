/**
 * One trace for a run whose engine process was killed mid-step (SIGKILL) and which another process's sweeper
 * finished: real processes, a real LibSQL file, spans exported by each process to a shared JSON-lines file.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, beforeEach, expect, it } from 'vitest'
import { createLibSQLStore } from '../../src/store/libsql/create-libsql-store'
import { migratedFile, tempDir, type TempDir } from '../support/libsql-harness'

const REPO = fileURLToPath(new URL('../..', import.meta.url))
const WORKER = join(REPO, 'test/support/traced-engine-worker.ts')

interface SpanLine {
  readonly pid: number
  readonly name: string
  readonly traceId: string
  readonly spanId: string
  readonly parentSpanId: string | null
  readonly attributes: Record<string, unknown>
  readonly events: { name: string }[]
}

let dir: TempDir
beforeEach(() => {
  dir = tempDir()
})
afterEach(() => dir.dispose())

function engineProcess(db: string, spans: string, mode: 'start' | 'sweep'): ChildProcessWithoutNullStreams {
  return spawn(process.execPath, ['--import', 'tsx', WORKER, db, spans, mode], { cwd: REPO, stdio: 'pipe' })
}

/** Resolves with the first stdout line matching `pattern`; rejects if the process exits first. */
function lineOf(child: ChildProcessWithoutNullStreams, pattern: RegExp): Promise<RegExpExecArray> {
  let output = ''
  let errors = ''
  child.stderr.on('data', (chunk: Buffer) => (errors += chunk.toString()))
  return new Promise((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString()
      const match = pattern.exec(output)
      if (match) resolve(match)
    })
    child.once('exit', (code) => reject(new Error(`engine process exited with ${code}: ${errors}`)))
  })
}

it('keeps one trace for a run killed in one process and swept to completion by another', async () => {
  const db = await migratedFile(dir)
  const spans = dir.file('spans.jsonl')
  const first = engineProcess(db, spans, 'start')
  const [, runId] = await lineOf(first, /hanging (\S+)\n/)
  const killed = new Promise((done) => first.once('exit', done))
  first.kill('SIGKILL')
  await killed

  const second = engineProcess(db, spans, 'sweep')
  await lineOf(second, /done\n/)

  const store = await createLibSQLStore({ url: `file:${db}` })
  const run = await store.getRun(runId as string)
  await store.close()
  expect(run.status).toBe('COMPLETED')
  const traceId = run.traceparent?.split('-')[1]
  expect(traceId).toMatch(/^[0-9a-f]{32}$/)

  const lines = readFileSync(spans, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as SpanLine)
  expect(new Set(lines.map((span) => span.traceId))).toEqual(new Set([traceId]))
  expect(new Set(lines.map((span) => span.pid))).toEqual(new Set([first.pid, second.pid]))
  // The killed process ended its start span and its first attempt; its run span died with it.
  expect(lines.filter((span) => span.pid === first.pid).map((span) => span.name).sort()).toEqual(['gorkflow.start traced', 'gorkflow.step first'])
  const resumed = lines.filter((span) => span.name === 'gorkflow.run traced')
  expect(resumed).toHaveLength(1)
  expect(resumed[0]?.pid).toBe(second.pid)
  expect(resumed[0]?.parentSpanId).toBe(run.traceparent?.split('-')[2])
  expect(resumed[0]?.events.map((event) => event.name)).toContain('gorkflow.step.interrupted')
  const secondAttempt = lines.find((span) => span.name === 'gorkflow.step second')
  expect(secondAttempt?.attributes).toMatchObject({ 'gorkflow.step.attempt': 1, 'gorkflow.step.status': 'COMPLETED' })
  expect(readFileSync(spans, 'utf8')).not.toContain('payload-secret-5d1e')
})
