/**
 * @module
 * Wake-ups on time on the real Node server (`startNodeServer`, LibSQL file): the poll interval is 10 minutes,
 * far longer than any test here, so every run that waited is woken by the sweeper's timer. The sweeps' log
 * says which path woke each run (`trigger`); the tests assert on it and on stored state, never on elapsed time.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { createInterface } from 'node:readline'
import { afterEach, describe, expect, it } from 'vitest'
import { z } from 'zod'
import type { LogFields, Logger } from '../../src/core/logger'
import { isTerminalRunStatus, type RunRecord } from '../../src/core/model'
import { defineStep } from '../../src/core/step'
import type { WorkflowStore } from '../../src/core/store'
import { workflow } from '../../src/core/workflow'
import { startNodeServer, type NodeServer } from '../../src/node'
import { napWorkflow } from '../../src/workflows'
import { tempDir, type TempDir } from '../support/libsql-harness'
import { ProbeLog, probeWorkflow } from '../support/probe-workflow'

const TOKEN = 'wake-token'
const TEN_MINUTES = 600_000

/** Runs whose `fails-once` step has failed already. */
const failedOnce = new Set<string>()
/** A step that fails its first attempt; its retry delay is far above the inline limit the tests set. */
const failsOnce = defineStep({
  id: 'fails-once',
  input: z.object({}),
  output: z.object({ attempts: z.number() }),
  maxRetries: 1,
  retryDelayMs: 1_500,
  handler: (ctx) => {
    if (!failedOnce.has(ctx.runId)) {
      failedOnce.add(ctx.runId)
      throw new Error('first attempt fails on purpose')
    }
    return { attempts: 2 }
  },
})
const retryWorkflow = workflow({ id: 'retry-later', input: z.object({}) }).then(failsOnce).build()
const timeoutWorkflow = workflow({ id: 'wait-in-vain', input: z.object({}) })
  .waitForEvent('never', { schema: z.object({}), timeoutMs: 1_500, continueOnError: true })
  .build()

/** Releases the `held` step of every `held-after-nap` run. */
let releaseHeld: () => void = () => {}
const held = new Promise<void>((resolve) => (releaseHeld = resolve))
/** Sleeps 1 s, then runs a step that lasts until the test releases it: a long run executing inside a sweep. */
const heldWorkflow = workflow({ id: 'held-after-nap', input: z.object({}) })
  .sleep(1_000, { id: 'nap' })
  .then(defineStep({ id: 'held', input: z.object({}), output: z.object({ released: z.boolean() }), handler: async () => {
    await held
    return { released: true }
  } }))
  .build()

/** Records every log event, so a test can see which sweeps ran and what they claimed. */
function recordingLogger(): Logger & { readonly events: Array<{ event: string; fields: LogFields }> } {
  const events: Array<{ event: string; fields: LogFields }> = []
  return { level: 'debug', events, log: (_level, event, fields) => events.push({ event, fields }) }
}

function sweepsBy(logger: ReturnType<typeof recordingLogger>, trigger: string) {
  return logger.events.filter((e) => e.event === 'sweep_finished' && e.fields.trigger === trigger)
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

async function untilFinished(store: WorkflowStore, runIds: readonly string[]): Promise<RunRecord[]> {
  const deadline = Date.now() + 60_000
  for (;;) {
    const runs = await Promise.all(runIds.map((id) => store.getRun(id)))
    if (runs.every((run) => isTerminalRunStatus(run.status))) return runs
    if (Date.now() > deadline) throw new Error(`runs not finished: ${runs.map((r) => `${r.runId}=${r.status}`).join(', ')}`)
    await pause(50)
  }
}

async function startRun(url: string, workflowId: string, input: unknown, token = TOKEN): Promise<string> {
  const res = await fetch(`${url}/v1/workflows/${workflowId}/runs`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ input }),
  })
  if (res.status !== 202 && res.status !== 200) throw new Error(`start failed: ${res.status} ${await res.text()}`)
  return ((await res.json()) as { run: { runId: string } }).run.runId
}

let dir: TempDir | undefined
let server: NodeServer | undefined
let child: ChildProcess | undefined

afterEach(async () => {
  if (child && child.exitCode === null && child.signalCode === null) {
    const exited = new Promise((resolve) => child?.once('exit', resolve))
    child.kill('SIGKILL')
    await exited
  }
  child = undefined
  await server?.close()
  server = undefined
  dir?.dispose()
  dir = undefined
})

describe('Node sweeper timer', () => {
  it('wakes a durable sleep, a retry delay and an event-wait timeout above the inline limit, without the poll', async () => {
    dir = tempDir('gorkflow-wake-')
    const logger = recordingLogger()
    server = await startNodeServer({
      port: 0,
      apiTokens: [TOKEN],
      databaseUrl: `file:${dir.file('wake.db')}`,
      workflows: [napWorkflow, retryWorkflow, timeoutWorkflow],
      sweepIntervalMs: TEN_MINUTES,
      inlineDelayLimitMs: 100,
      logger,
    })
    const ids = [
      await startRun(server.url, 'nap', { ms: 1_500 }),
      await startRun(server.url, 'retry-later', {}),
      await startRun(server.url, 'wait-in-vain', {}),
    ]
    const [nap, retried, timedOut] = await untilFinished(server.store, ids)

    expect(nap).toMatchObject({ status: 'COMPLETED', output: { slept: true } })
    expect(retried).toMatchObject({ status: 'COMPLETED', output: { attempts: 2 } })
    expect(timedOut?.status).toBe('COMPLETED')
    expect(await server.store.getStepExecution(ids[2] as string, 'never')).toMatchObject({ status: 'FAILED', error: { code: 'TIMEOUT' } })
    // Each run yielded (the waits are above the inline limit) and only timer sweeps claimed them again.
    const claimedByTimer = sweepsBy(logger, 'timer').reduce((sum, e) => sum + Number(e.fields.claimed), 0)
    expect(claimedByTimer).toBe(3)
    expect(sweepsBy(logger, 'poll')).toEqual([])
    expect(sweepsBy(logger, 'start').map((e) => e.fields.claimed)).toEqual([0])
  }, 90_000)

  it('wakes a sleep on time while an earlier sweep still executes a long run', async () => {
    dir = tempDir('gorkflow-wake-held-')
    const logger = recordingLogger()
    server = await startNodeServer({
      port: 0,
      apiTokens: [TOKEN],
      databaseUrl: `file:${dir.file('held.db')}`,
      workflows: [napWorkflow, heldWorkflow],
      sweepIntervalMs: TEN_MINUTES,
      inlineDelayLimitMs: 100,
      logger,
    })
    const heldId = await startRun(server.url, 'held-after-nap', {})
    const napId = await startRun(server.url, 'nap', { ms: 2_000 })
    const store = server.store
    // The held run wakes first and its sweep stays busy with the held step; the nap must not wait for it.
    const [nap] = await untilFinished(store, [napId])
    expect(nap).toMatchObject({ status: 'COMPLETED', output: { slept: true } })
    expect(await store.getRun(heldId)).toMatchObject({ status: 'RUNNING' })
    expect(await store.getStepExecution(heldId, 'held')).toMatchObject({ status: 'RUNNING' })
    releaseHeld()
    const [done] = await untilFinished(store, [heldId])
    expect(done).toMatchObject({ status: 'COMPLETED', output: { released: true } })
    expect(sweepsBy(logger, 'timer').reduce((sum, e) => sum + Number(e.fields.claimed), 0)).toBe(2)
    expect(sweepsBy(logger, 'poll')).toEqual([])
  }, 90_000)

  it('resumes a run at the lease expiry of a SIGKILLed server, on another server, by the timer', async () => {
    dir = tempDir('gorkflow-wake-crash-')
    const dbFile = dir.file('crash.db')
    const probeFile = dir.file('probe.db')
    new ProbeLog(probeFile).close()
    // Server A: a spawned process whose probe steps take a minute, so it dies inside the first one.
    child = spawn(process.execPath, ['--import', 'tsx', 'test/support/probe-server.ts'], {
      env: { ...process.env, DB_FILE: dbFile, PROBE_FILE: probeFile, LEASE_MS: '3000', SWEEP_INTERVAL_MS: String(TEN_MINUTES), PROBE_PAUSE_MS: '60000' },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    const dead = child
    const first = await new Promise<string>((resolve, reject) => {
      createInterface({ input: dead.stdout as NodeJS.ReadableStream }).once('line', resolve)
      dead.once('exit', (code) => reject(new Error(`probe server exited with ${code}`)))
    })
    const { url, pid } = JSON.parse(first) as { url: string; pid: number }
    const runId = await startRun(url, 'probe', { n: 1 }, 'probe-token')
    const probe = new ProbeLog(probeFile)
    try {
      while (!probe.all().some((i) => i.runId === runId && i.pid === pid)) await pause(50)

      // Server B starts while A still holds the lease, so its first sweep cannot take the run: only a later
      // sweep can, and the poll is 10 minutes away.
      const logger = recordingLogger()
      server = await startNodeServer({
        port: 0,
        apiTokens: [TOKEN],
        databaseUrl: `file:${dbFile}`,
        workflows: [probeWorkflow()],
        deps: { probe },
        leaseMs: 3_000,
        sweepIntervalMs: TEN_MINUTES,
        logger,
      })
      const exited = new Promise((resolve) => dead.once('exit', resolve))
      dead.kill('SIGKILL')
      await exited

      const [run] = await untilFinished(server.store, [runId])
      expect(run).toMatchObject({ status: 'COMPLETED', output: { n: 6 } })
      const calls = probe.all().filter((i) => i.runId === runId)
      // s1 twice (A died in it, B ran it again), s2..s5 once each on B.
      expect(calls.filter((i) => i.pid === pid).map((i) => i.stepId)).toEqual(['s1'])
      expect(calls.filter((i) => i.pid === process.pid).map((i) => i.stepId)).toEqual(['s1', 's2', 's3', 's4', 's5'])
      expect(sweepsBy(logger, 'start').map((e) => e.fields.claimed)).toEqual([0])
      expect(sweepsBy(logger, 'timer').reduce((sum, e) => sum + Number(e.fields.claimed), 0)).toBe(1)
      expect(sweepsBy(logger, 'poll')).toEqual([])
    } finally {
      probe.close()
    }
  }, 90_000)
})
