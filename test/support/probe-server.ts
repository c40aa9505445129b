/**
 * @module
 * A real Node server process for crash and restart tests: the shipped `startNodeServer` on a LibSQL file, with the
 * probe, restart and `nap` workflows registered, stopped on SIGTERM/SIGINT by the shipped `exitOnSignals` (the
 * path `npm start` takes). Prints `{"url", "pid", "owner"}` on its first stdout line once it listens.
 * Env: DB_FILE, PROBE_FILE, LEASE_MS, SWEEP_INTERVAL_MS, SHUTDOWN_GRACE_MS, PROBE_PAUSE_MS (each probe step's pause;
 * default 5..40), DURABILITY (the probe workflow's durability mode; default 'step'); START_ON_STDIN=1 loads everything, then waits for a line on stdin before it opens the database and
 * listens (a test boots the next server meanwhile).
 */
import { createInterface } from 'node:readline'
import { DEFAULT_SHUTDOWN_GRACE_MS } from '../../src/core/engine'
import { silentLogger } from '../../src/core/logger'
import type { Durability } from '../../src/core/step-config'
import { exitOnSignals, nodeOptionsFromEnv, startNodeServer } from '../../src/node'
import { napWorkflow } from '../../src/workflows'
import { ProbeLog, probeWorkflow } from './probe-workflow'
import { restartWorkflow } from './restart-workflow'

if (process.env.START_ON_STDIN === '1') {
  await new Promise((resolve) => createInterface({ input: process.stdin }).once('line', resolve))
}
const probe = new ProbeLog(process.env.PROBE_FILE as string)
const pause = process.env.PROBE_PAUSE_MS === undefined ? undefined : ([Number(process.env.PROBE_PAUSE_MS), Number(process.env.PROBE_PAUSE_MS) + 1] as const)
const { shutdownGraceMs = DEFAULT_SHUTDOWN_GRACE_MS } = nodeOptionsFromEnv(process.env)
const server = await startNodeServer({
  port: 0,
  apiTokens: ['probe-token'],
  databaseUrl: `file:${process.env.DB_FILE}`,
  workflows: [probeWorkflow(undefined, pause, (process.env.DURABILITY ?? 'step') as Durability), restartWorkflow, napWorkflow],
  deps: { probe },
  leaseMs: Number(process.env.LEASE_MS ?? 1000),
  sweepIntervalMs: Number(process.env.SWEEP_INTERVAL_MS ?? 100),
  shutdownGraceMs,
  logger: silentLogger,
})
process.stdout.write(`${JSON.stringify({ url: server.url, pid: process.pid, owner: server.engine.ownerId })}\n`)
exitOnSignals(server, { logger: silentLogger, graceMs: shutdownGraceMs })
