/**
 * @module
 * A restart never fails a run (README "What survives what"): the real Node server on a LibSQL file, SIGKILLed twice
 * and SIGTERMed twice while 50 runs of the restart workflow (steps with `maxRetries: 0`, a step longer than the
 * shutdown grace that ignores its signal, a durable sleep, a flaky step, a parallel block) go through it.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { RunRecord } from '../../src/core/model'
import type { WorkflowStore } from '../../src/core/store'
import { createLibSQLStore } from '../../src/store/libsql/create-libsql-store'
import { ProbeLog, type Invocation } from '../support/probe-workflow'
import { RESTART_HANDLER_STEPS } from '../support/restart-workflow'

interface Server {
  readonly proc: ChildProcess
  readonly url: string
  readonly pid: number
  /** The engine's lease owner id. */
  readonly owner: string
}

const TOKEN = 'probe-token'
const RUNS = 50
const GRACE_MS = 300
/** What stops each server in turn; a last server then finishes the work. */
const STOPS = ['SIGKILL', 'SIGKILL', 'SIGTERM', 'SIGTERM'] as const

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** A server process that has loaded its code and waits for `start()` to open the database and listen. */
interface BootedServer {
  readonly proc: ChildProcess
  start(): Promise<Server>
}

/**
 * Boots a server process ahead of time: under load most of a start is loading modules, which can then overlap the
 * previous server's work. A killed server's runs wait for their leases to expire, so it holds 1 s leases. A
 * terminated one holds 60 s leases: had it left one behind, no run of it could finish within this test.
 */
function bootServer(dbFile: string, probeFile: string, leaseMs: number): BootedServer {
  const proc = spawn(process.execPath, ['--import', 'tsx', 'test/support/probe-server.ts'], {
    env: {
      ...process.env,
      DB_FILE: dbFile,
      PROBE_FILE: probeFile,
      LEASE_MS: String(leaseMs),
      SWEEP_INTERVAL_MS: '100',
      SHUTDOWN_GRACE_MS: String(GRACE_MS),
      START_ON_STDIN: '1',
    },
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  let stderr = ''
  proc.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString()
  })
  const lines = createInterface({ input: proc.stdout as NodeJS.ReadableStream })
  const first = new Promise<string>((resolve, reject) => {
    lines.once('line', resolve)
    proc.once('exit', (code) => reject(new Error(`probe server exited with ${code}: ${stderr}`)))
  })
  first.catch(() => {}) // a booted server stopped before it started is not an error
  return {
    proc,
    async start() {
      proc.stdin?.write('start\n')
      const { url, pid, owner } = JSON.parse(await first) as { url: string; pid: number; owner: string }
      return { proc, url, pid, owner }
    },
  }
}

/** Sends `signal` and resolves with the exit code (null when a signal ended the process). */
async function stop(proc: ChildProcess, signal: NodeJS.Signals): Promise<number | null> {
  if (proc.exitCode !== null || proc.signalCode !== null) return proc.exitCode
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)))
  proc.kill(signal)
  return exited
}

async function startRun(server: Server, n: number): Promise<void> {
  const res = await fetch(`${server.url}/v1/workflows/restart/runs`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ input: { n }, idempotencyKey: `restart-${n}` }),
  })
  if (res.status !== 202 && res.status !== 200) throw new Error(`start failed: ${res.status} ${await res.text()}`)
}

/** Waits until `pid` runs a `long` attempt, so the stop lands inside a step longer than the grace. */
async function longStepRunning(probe: ProbeLog, pid: number): Promise<void> {
  for (let i = 0; i < 1_000; i++) {
    if (probe.all().some((inv) => inv.pid === pid && inv.stepId === 'long' && inv.endedAt === null)) return
    await pause(20)
  }
  throw new Error(`server ${pid} never ran a long step`)
}

async function waitForAll(store: WorkflowStore, timeoutMs: number): Promise<RunRecord[]> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const runs = (await store.listRuns({ workflowId: 'restart', limit: 1000 })).runs
    if (runs.length === RUNS && runs.every((r) => r.status === 'COMPLETED' || r.status === 'FAILED')) return runs
    if (Date.now() > deadline) {
      const counts = runs.reduce<Record<string, number>>((acc, r) => ({ ...acc, [r.status]: (acc[r.status] ?? 0) + 1 }), {})
      throw new Error(`runs did not finish: ${JSON.stringify(counts)} of ${runs.length}`)
    }
    await pause(100)
  }
}

describe('Restarts of the Node server on a LibSQL file', () => {
  let dir: string
  const servers: ChildProcess[] = []

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'gorkflow-restarts-'))
  })
  afterAll(async () => {
    await Promise.all(servers.map((proc) => stop(proc, 'SIGKILL')))
    rmSync(dir, { recursive: true, force: true })
  })

  it('completes 50 runs through two SIGKILLs and two SIGTERMs, each step once, re-invoking only attempts in flight', async () => {
    const dbFile = join(dir, 'restarts.db')
    const probeFile = join(dir, 'restarts-probe.db')
    const probe = new ProbeLog(probeFile)
    const stoppedPids: number[] = []
    let store: WorkflowStore | null = null
    let gracefullyInterrupted = 0
    const t0 = Date.now()
    const phases: string[] = []
    const mark = (what: string) => phases.push(`${what} +${Date.now() - t0}`)
    const leaseMs = (k: number) => (STOPS[k] === 'SIGKILL' ? 1_000 : 60_000)
    const boot = (k: number) => {
      const booted = bootServer(dbFile, probeFile, leaseMs(k))
      servers.push(booted.proc)
      return booted
    }
    let server = await boot(0).start()
    for (const [k, signal] of STOPS.entries()) {
      const next = boot(k + 1)
      const batch = Array.from({ length: RUNS }, (_, n) => n).filter((n) => n % STOPS.length === k)
      await Promise.all(batch.map((n) => startRun(server, n)))
      mark('started')
      await longStepRunning(probe, server.pid)
      mark('long')
      const code = await stop(server.proc, signal)
      mark(signal)
      stoppedPids.push(server.pid)
      store ??= await createLibSQLStore({ url: `file:${dbFile}` })
      if (signal === 'SIGTERM') {
        // The graceful path exits 0 without waiting for `long`, which ignores its signal, having released every
        // lease it held and recorded every attempt it cut short as interrupted: none of its runs has one RUNNING.
        // (Runs the killed server before it held and this one had not claimed yet keep that server's lease.)
        expect(code).toBe(0)
        const runs = (await store.listRuns({ workflowId: 'restart', limit: 1000 })).runs
        expect(runs.filter((r) => r.leaseOwner === server.owner)).toEqual([])
        const released = runs.filter((r) => r.leaseOwner === null)
        const steps = (await Promise.all(released.map((r) => store!.listStepExecutions(r.runId)))).flat()
        const handlerSteps = steps.filter((s) => (RESTART_HANDLER_STEPS as readonly string[]).includes(s.stepId))
        expect(handlerSteps.filter((s) => s.status === 'RUNNING')).toEqual([])
        const interrupted = handlerSteps.filter((s) => s.status === 'RETRYING' && s.error?.code === 'ATTEMPT_INTERRUPTED')
        expect(interrupted.length).toBeGreaterThanOrEqual(1)
        gracefullyInterrupted += interrupted.length
      }
      server = await next.start()
      mark('listening')
    }
    const runs = await waitForAll(store as WorkflowStore, 60_000)
    mark('drained')

    expect(runs.filter((r) => r.status !== 'COMPLETED')).toEqual([])
    for (const run of runs) expect(run.output).toEqual({ n: 2 * (run.input as { n: number }).n + 3 })
    const invocations = probe.all()
    probe.close()
    let reinvoked = 0
    let interruptions = 0
    for (const run of runs) {
      const steps = await (store as WorkflowStore).listStepExecutions(run.runId)
      // One record per step, each COMPLETED: the durable sleep `rest` and the four handler steps.
      expect(steps.map((s) => [s.stepId, s.status]).sort()).toEqual(
        ['flaky', 'join', 'long', 'nap', 'rest'].map((id) => [id, 'COMPLETED']),
      )
      for (const step of steps) {
        interruptions += step.interruptions
        if (step.stepId === 'rest') continue
        const calls: Invocation[] = invocations.filter((i) => i.runId === run.runId && i.stepId === step.stepId)
        // Every attempt is invoked at most once, and the recorded attempt is the one that completed.
        expect(new Set(calls.map((c) => c.attempt)).size).toBe(calls.length)
        const completing = calls.filter((c) => c.attempt === step.attempt)
        expect(completing.map((c) => c.outcome)).toEqual(['ok'])
        const earlier = calls.filter((c) => c.attempt !== step.attempt)
        for (const call of earlier) expect(call.attempt).toBeLessThan(step.attempt)
        // Beyond the completing call: flaky's deliberate failure of attempt 0, and attempts in flight at a stop.
        const deliberate = earlier.filter((c) => step.stepId === 'flaky' && c.attempt === 0 && c.outcome === 'failed')
        const inFlight = earlier.filter((c) => !deliberate.includes(c))
        for (const call of inFlight) expect(stoppedPids).toContain(call.pid)
        // Each of those was recorded as an interruption. The steps that never fail on purpose (`maxRetries: 0`
        // all three) owe every earlier attempt to an interruption, none of which spent their zero retries.
        expect(step.interruptions).toBeGreaterThanOrEqual(inFlight.length)
        expect(step.interruptions).toBeLessThanOrEqual(step.attempt)
        if (step.stepId !== 'flaky') expect(step.interruptions).toBe(step.attempt)
        reinvoked += inFlight.length
      }
    }
    expect(reinvoked).toBeGreaterThanOrEqual(STOPS.length)
    await (store as WorkflowStore).close()
    console.log(
      `restarts: ${RUNS} runs through ${STOPS.join(', ')}: ${invocations.length} handler invocations, ${reinvoked} re-invoked ` +
        `after a stop, ${interruptions} interruptions recorded (${gracefullyInterrupted} by graceful shutdowns); ms: ${phases.join(', ')}`,
    )
  }, 180_000)
})
