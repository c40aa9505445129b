/**
 * @module
 * `npm run bench`: measures every workload on every target, each (target, workload) in a fresh process, prints
 * a markdown table and, for a full run, writes `bench/RESULTS.md`. Not part of `npm test`.
 *
 * Flags:
 *   --only a,b        targets by id (or id prefix: `libsql-http` = both latencies); default all
 *   --workloads W1,W3 default all each target runs
 *   --quick           tiny budgets: checks that everything works, numbers not worth publishing
 *   --profile         records a CPU profile of each measurement (bench/profiles/*.cpuprofile, for Chrome DevTools),
 *                     prints where the time went and writes bench/PROFILE.md; profiled timings are not written
 *                     to RESULTS.md
 *   --write / --no-write   write RESULTS.md even for a subset / never (default: only for a full run)
 *   --wake            only the wake-up lag (bench/wake-lag.ts) of the targets that have it (node-server,
 *                     wrangler-dev; `--only` narrows), written into RESULTS.md's wake-lag section; a full run
 *                     measures it after the workloads
 * Example: `npm run bench -- --only memory,libsql-file --workloads W1`
 * Memory over time (RSS across 100,000 runs) is `npm run bench:soak` (bench/soak.ts).
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { loadavg } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { runInChild } from './child-process'
import type { Measurement } from './measure'
import { profileMarkdown, summarizeProfile } from './profile'
import { goalsTable, machine, machineLine, resultsDocument, resultsTable, type Machine, type Outcome } from './report'
import { TARGETS } from './targets'
import type { Target } from './targets/target'
import { measureWakeLagInChildren, WAKE_TARGET_IDS, wakeLagSection, writeWakeLagSection } from './wake-lag'
import { WORKLOAD_IDS, type WorkloadId } from './workloads'

const BENCH_DIR = fileURLToPath(new URL('.', import.meta.url))
const MEASURE_MODULE = new URL('./measure.ts', import.meta.url).href
const PROFILE_DIR = join(BENCH_DIR, 'profiles')
/** A measurement that takes longer than this is stuck (a server that never answers): kill it, report it. */
const MEASURE_TIMEOUT_MS = 180_000

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      only: { type: 'string' },
      workloads: { type: 'string' },
      quick: { type: 'boolean', default: false },
      profile: { type: 'boolean', default: false },
      write: { type: 'boolean' },
      'no-write': { type: 'boolean', default: false },
      wake: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  })
  if (values.help) {
    console.log('usage: npm run bench -- [--only id,…] [--workloads W1,…] [--quick] [--profile] [--write|--no-write] [--wake]')
    console.log(`targets: ${TARGETS.map((t) => t.id).join(', ')}`)
    return
  }
  const targets = selectTargets(values.only)
  const workloads = selectWorkloads(values.workloads)
  const subset = values.only !== undefined || values.workloads !== undefined || values.quick || values.profile || values.wake
  const write = !values['no-write'] && !values.profile && (values.write ?? !subset)
  if (values.profile) {
    rmSync(PROFILE_DIR, { recursive: true, force: true })
    mkdirSync(PROFILE_DIR, { recursive: true })
  }

  const host = machine()
  console.log(`Machine: ${machineLine(host)}\n`)
  const outcomes: Outcome[] = []
  for (const target of values.wake ? [] : targets) {
    for (const workload of target.workloads.filter((w) => workloads.includes(w))) {
      process.stdout.write(`${target.id} ${workload} … `)
      const started = Date.now()
      const outcome = await measureInChild(target, workload, { quick: values.quick, profile: values.profile })
      outcomes.push(outcome)
      console.log(
        outcome.ok
          ? `median ${outcome.result.medianMs.toFixed(3)} ms (${((Date.now() - started) / 1000).toFixed(1)} s)`
          : `FAILED\n${outcome.error}`,
      )
    }
  }
  const command = `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`
  const measureWake = values.wake || (!subset && !values.profile)
  const wakeIds = WAKE_TARGET_IDS.filter((id) => values.only === undefined || targets.some((t) => t.id === id))
  const wakeOutcomes = measureWake ? await measureWakeLagInChildren(wakeIds, { quick: values.quick }) : []
  host.loadAfter = loadavg()[0] ?? 0

  if (outcomes.length > 0) console.log(`\n${resultsTable(outcomes)}\n\n${goalsTable(outcomes)}\n`)
  const results = join(BENCH_DIR, 'RESULTS.md')
  const earlier = existsSync(results) ? readFileSync(results, 'utf8') : ''
  const wakeSection = measureWake ? wakeLagSection(wakeOutcomes, command, machineLine(host), earlier) : null
  if (wakeSection) console.log(`\n${wakeSection}\n`)
  if (values.profile) writeProfiles(outcomes, host)
  if (write) {
    writeFileSync(results, resultsDocument(outcomes, host, command))
    console.log('wrote bench/RESULTS.md')
  }
  if (wakeSection && (write || (values.wake && !values.quick && !values['no-write']))) {
    writeWakeLagSection(results, wakeSection)
    console.log('wrote the wake-up lag section of bench/RESULTS.md')
  }
  if (outcomes.some((o) => !o.ok) || wakeOutcomes.some((o) => !o.ok)) process.exitCode = 1
}

function selectTargets(only: string | undefined): Target[] {
  const wanted = only?.split(',').map((s) => s.trim()).filter(Boolean)
  const unknown = wanted?.filter((w) => !TARGETS.some((t) => matches(t.id, w))) ?? []
  if (unknown.length > 0) {
    throw new Error(`unknown target(s) ${unknown.join(', ')}; known: ${TARGETS.map((t) => t.id).join(', ')}`)
  }
  const selected = wanted === undefined ? [...TARGETS] : TARGETS.filter((t) => wanted.some((w) => matches(t.id, w)))
  return selected
}

function matches(id: string, wanted: string): boolean {
  return id === wanted || id.startsWith(`${wanted}-`)
}

function selectWorkloads(list: string | undefined): WorkloadId[] {
  if (list === undefined) return [...WORKLOAD_IDS]
  const wanted = list.split(',').map((s) => s.trim().toUpperCase())
  const bad = wanted.filter((w) => !(WORKLOAD_IDS as readonly string[]).includes(w))
  if (bad.length > 0) throw new Error(`unknown workload(s) ${bad.join(', ')}; known: ${WORKLOAD_IDS.join(', ')}`)
  return wanted as WorkloadId[]
}

function profilePath(target: Target, workload: WorkloadId): string {
  return join(PROFILE_DIR, `${target.id}-${workload}.cpuprofile`)
}

/** Runs bench/measure.ts for one (target, workload) in a new Node process and parses its result line. */
async function measureInChild(target: Target, workload: WorkloadId, options: { quick: boolean; profile: boolean }): Promise<Outcome> {
  const args = [
    target.id,
    workload,
    ...(options.quick ? ['--quick'] : []),
    ...(options.profile ? ['--profile', profilePath(target, workload)] : []),
  ]
  const outcome = await runInChild<Measurement>(MEASURE_MODULE, args, MEASURE_TIMEOUT_MS)
  return outcome.ok ? { ok: true, target, workload, result: outcome.result } : { ok: false, target, workload, error: outcome.error }
}

function writeProfiles(outcomes: readonly Outcome[], host: Machine): void {
  const sections = outcomes
    .filter((o) => o.ok)
    .map((o) => profileMarkdown(`${o.target.title}, ${o.workload}`, summarizeProfile(profilePath(o.target, o.workload))))
  const doc = `<!-- Generated by bench/run.ts --profile. DO NOT EDIT; rerun instead. -->
# Where the time goes

Self time from V8's CPU profiler (the one behind \`node --cpu-prof\`), recording the measured runs only: module
loading, setup and warm-up are left out. For targets behind HTTP only the engine's process is profiled, not the
endpoint's or DynamoDB Local's. Profiled timings are a little slower than unprofiled ones.

Machine: ${machineLine(host)}.

${sections.join('\n\n')}
`
  writeFileSync(join(BENCH_DIR, 'PROFILE.md'), doc)
  console.log(doc)
  console.log('wrote bench/PROFILE.md (raw profiles in bench/profiles/)')
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : String(err))
  process.exit(1)
})
