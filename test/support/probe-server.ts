/**
 * @module
 * A real Node server process for crash tests: the shipped `startNodeServer` on a LibSQL file, with the probe
 * workflow and the `nap` example registered. Prints `{"url": …}` on its first stdout line once it listens.
 * Env: DB_FILE, PROBE_FILE, LEASE_MS, SWEEP_INTERVAL_MS, and PROBE_PAUSE_MS (each probe step's pause; default 5..40).
 */
import { silentLogger } from '../../src/core/logger'
import { startNodeServer } from '../../src/node'
import { napWorkflow } from '../../src/workflows'
import { ProbeLog, probeWorkflow } from './probe-workflow'

const probe = new ProbeLog(process.env.PROBE_FILE as string)
const pause = process.env.PROBE_PAUSE_MS === undefined ? undefined : ([Number(process.env.PROBE_PAUSE_MS), Number(process.env.PROBE_PAUSE_MS) + 1] as const)
const server = await startNodeServer({
  port: 0,
  apiTokens: ['probe-token'],
  databaseUrl: `file:${process.env.DB_FILE}`,
  workflows: [probeWorkflow(undefined, pause), napWorkflow],
  deps: { probe },
  leaseMs: Number(process.env.LEASE_MS ?? 1000),
  sweepIntervalMs: Number(process.env.SWEEP_INTERVAL_MS ?? 100),
  logger: silentLogger,
})
process.stdout.write(`${JSON.stringify({ url: server.url, pid: process.pid })}\n`)
process.once('SIGTERM', () => {
  void server.close().then(() => process.exit(0))
})
