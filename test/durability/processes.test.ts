/**
 * @module
 * Durability with real processes on a LibSQL file: the Node server SIGKILLed at random moments, and three
 * server processes sweeping the same database at once, in each durability mode (README "Durability modes"). Handlers
 * log every invocation into their own table.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Engine } from '../../src/core/engine'
import { DURABILITY_MODES } from '../../src/core/step-config'
import { createLibSQLStore } from '../../src/store/libsql/create-libsql-store'
import type { WorkflowStore } from '../../src/core/store'
import { overlappingInvocations, ProbeLog, probeWorkflow } from '../support/probe-workflow'

interface Server {
  readonly proc: ChildProcess
  readonly url: string
  readonly pid: number
}

const TOKEN = 'probe-token'
const STEPS = 5

async function startServer(dbFile: string, probeFile: string, env: Record<string, string> = {}): Promise<Server> {
  const proc = spawn(process.execPath, ['--import', 'tsx', 'test/support/probe-server.ts'], {
    env: { ...process.env, DB_FILE: dbFile, PROBE_FILE: probeFile, LEASE_MS: '1000', SWEEP_INTERVAL_MS: '100', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stderr = ''
  proc.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString()
  })
  const lines = createInterface({ input: proc.stdout as NodeJS.ReadableStream })
  const first = await new Promise<string>((resolve, reject) => {
    lines.once('line', resolve)
    proc.once('exit', (code) => reject(new Error(`probe server exited with ${code}: ${stderr}`)))
  })
  const { url, pid } = JSON.parse(first) as { url: string; pid: number }
  return { proc, url, pid }
}

async function kill(server: Server): Promise<void> {
  if (server.proc.exitCode !== null || server.proc.signalCode !== null) return
  const exited = new Promise((r) => server.proc.once('exit', r))
  server.proc.kill('SIGKILL')
  await exited
}

async function startRun(server: Server, n: number): Promise<void> {
  const res = await fetch(`${server.url}/v1/workflows/probe/runs`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ input: { n }, idempotencyKey: `run-${n}` }),
  })
  if (res.status !== 202 && res.status !== 200) throw new Error(`start failed: ${res.status} ${await res.text()}`)
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms))

async function waitForAll(store: WorkflowStore, count: number, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const runs = (await store.listRuns({ workflowId: 'probe', limit: 1000 })).runs
    if (runs.length === count && runs.every((r) => r.status === 'COMPLETED' || r.status === 'FAILED')) return runs
    if (Date.now() > deadline) {
      const counts = runs.reduce<Record<string, number>>((acc, r) => ({ ...acc, [r.status]: (acc[r.status] ?? 0) + 1 }), {})
      throw new Error(`runs did not finish: ${JSON.stringify(counts)} of ${runs.length}`)
    }
    await pause(100)
  }
}

describe('Durability with real processes on a LibSQL file', () => {
  let dir: string
  const servers: Server[] = []

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'gorkflow-processes-'))
  })
  afterAll(async () => {
    await Promise.all(servers.map(kill))
    rmSync(dir, { recursive: true, force: true })
  })

  for (const durability of DURABILITY_MODES) {
    it(`completes every run after repeated SIGKILLs (${durability}), re-invoking only attempts of killed processes`, async () => {
      const dbFile = join(dir, `kill-${durability}.db`)
      const probeFile = join(dir, `kill-${durability}-probe.db`)
      const RUNS = 60
      const KILLS = 5
      const killedPids: number[] = []
      let server = await startServer(dbFile, probeFile, { DURABILITY: durability })
      servers.push(server)
      for (let k = 0; k < KILLS; k++) {
        const batch = Array.from({ length: RUNS / KILLS }, (_, i) => k * (RUNS / KILLS) + i)
        await Promise.all(batch.map((n) => startRun(server, n)))
        await pause(40 + Math.floor(Math.random() * 200))
        await kill(server)
        killedPids.push(server.pid)
        server = await startServer(dbFile, probeFile, { DURABILITY: durability })
        servers.push(server)
      }
      const restartedAt = Date.now()
      const store = await createLibSQLStore({ url: `file:${dbFile}` })
      const runs = await waitForAll(store, RUNS, 60_000)
      const drainMs = Date.now() - restartedAt

      expect(runs.filter((r) => r.status !== 'COMPLETED')).toEqual([])
      for (const run of runs) expect(run.output).toEqual({ n: (run.input as { n: number }).n + STEPS })
      const probe = new ProbeLog(probeFile)
      const invocations = probe.all()
      probe.close()
      let completions = 0
      let reinvoked = 0
      for (const run of runs) {
        const steps = await store.listStepExecutions(run.runId)
        expect(steps.map((s) => s.status)).toEqual(Array(STEPS).fill('COMPLETED'))
        for (const step of steps) {
          completions++
          const calls = invocations.filter((i) => i.runId === run.runId && i.stepId === step.stepId).sort((a, b) => a.attempt - b.attempt)
          expect(calls.length).toBeGreaterThanOrEqual(1)
          // The completing call is the recorded attempt; every earlier call died with a killed process.
          expect(calls.at(-1)?.attempt).toBe(step.attempt)
          for (const earlier of calls.slice(0, -1)) expect(killedPids).toContain(earlier.pid)
          reinvoked += calls.length - 1
        }
      }
      expect(completions).toBe(RUNS * STEPS)
      expect(invocations.length).toBe(completions + reinvoked)
      await store.close()
      console.log(
        `kill -9 (${durability}): ${RUNS} runs, ${KILLS} kills, ${invocations.length} handler invocations for ${completions} completions ` +
          `(${reinvoked} re-invoked after a kill), drained ${drainMs} ms after the last restart`,
      )
    }, 120_000)
  }

  it('finishes a durable sleep through the sweeper after the process that started it was killed', async () => {
    const dbFile = join(dir, 'nap.db')
    const probeFile = join(dir, 'nap-probe.db')
    const first = await startServer(dbFile, probeFile)
    servers.push(first)
    // 6 s is above the engine's 5 s inline limit: the run must yield, hold no lease, and wait for a sweeper.
    const res = await fetch(`${first.url}/v1/workflows/nap/runs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ input: { ms: 6_000 } }),
    })
    const { run } = (await res.json()) as { run: { runId: string } }
    const store = await createLibSQLStore({ url: `file:${dbFile}` })
    for (let i = 0; i < 100 && (await store.getRun(run.runId)).waitingFor === null; i++) await pause(50)
    const sleeping = await store.getRun(run.runId)
    expect(sleeping).toMatchObject({ status: 'RUNNING', leaseOwner: null, waitingFor: { kind: 'sleep', stepId: 'sleep' } })
    await kill(first)
    servers.push(await startServer(dbFile, probeFile))
    const deadline = Date.now() + 30_000
    while ((await store.getRun(run.runId)).status !== 'COMPLETED' && Date.now() < deadline) await pause(100)
    const done = await store.getRun(run.runId)
    expect(done).toMatchObject({ status: 'COMPLETED', output: { slept: true }, waitingFor: null })
    expect((done.completedAt ?? 0) - done.createdAt).toBeGreaterThanOrEqual(6_000)
    await store.close()
  }, 60_000)

  for (const durability of DURABILITY_MODES) {
    it(`runs 100 runs once each while 3 server processes sweep the same file (${durability}), never overlapping an attempt`, async () => {
      const dbFile = join(dir, `race-${durability}.db`)
      const probeFile = join(dir, `race-${durability}-probe.db`)
      const RUNS = 100
      const store = await createLibSQLStore({ url: `file:${dbFile}` })
      // Runs are created and released by an engine that never executes them: only the sweepers will.
      const starter = new Engine({ store, workflows: [probeWorkflow(undefined, undefined, durability)] })
      for (let n = 0; n < RUNS; n++) await starter.start('probe', { n })
      await starter.shutdown()
      new ProbeLog(probeFile).close()
      // Three writers contend for one SQLite file: a write can wait seconds for the lock, blocking the probe's
      // synchronous log and so the lease renewal. A 1 s lease then expires under a live owner (measured: 10
      // duplicate invocations in 500); the lease must exceed the longest stall, as the README says.
      const racers = await Promise.all([0, 1, 2].map(() => startServer(dbFile, probeFile, { SWEEP_INTERVAL_MS: '20', LEASE_MS: '10000', DURABILITY: durability })))
      servers.push(...racers)
      const runs = await waitForAll(store, RUNS, 60_000)
      await Promise.all(racers.map(kill))

      expect(runs.filter((r) => r.status !== 'COMPLETED')).toEqual([])
      const probe = new ProbeLog(probeFile)
      const invocations = probe.all()
      probe.close()
      expect(invocations.length).toBe(RUNS * STEPS)
      expect(overlappingInvocations(invocations)).toBe(0)
      // All three processes took part.
      expect(new Set(invocations.map((i) => i.pid)).size).toBe(3)
      await store.close()
    }, 120_000)
  }
})
