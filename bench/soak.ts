/**
 * @module
 * `npm run bench:soak`: does a long-running process stay flat? Runs W1 (10 sequential steps) many times on a
 * LibSQL file, one run after another, in a fresh process per target, and samples RSS (after a full GC) as it goes.
 * Passes when RSS after `--runs` runs is within `--limit-mib` of RSS after `--baseline` runs: the first runs grow
 * the heap, SQLite's page cache and the statement cache to their working size; after that, growth is a leak.
 *
 * Targets: `libsql-file` (`engine.run` in process, bench/targets/libsql-file.ts) and `node-server` (the Node entry
 * with `POST …/runs?wait=true` over keep-alive HTTP, bench/targets/node-server.ts). Not part of `npm test`.
 *
 * Flags: `--only libsql-file,node-server` (default both), `--runs 100000`, `--baseline 10000`, `--limit-mib 50`,
 * `--samples 10` (RSS samples between baseline and end). Exit code 1 when a target fails.
 * Example: `npm run bench:soak -- --only node-server --runs 30000 --baseline 3000`
 */
import { spawn } from 'node:child_process'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { libsqlFileTarget } from './targets/libsql-file'
import { nodeServerTarget } from './targets/node-server'
import type { Target } from './targets/target'

const TARGETS: readonly Target[] = [libsqlFileTarget, nodeServerTarget]
const SAMPLE_PREFIX = 'SOAK_SAMPLE '
const MiB = 1024 * 1024

interface Sample {
  readonly runs: number
  readonly rssBytes: number
  readonly heapBytes: number
  readonly elapsedMs: number
}

interface Plan {
  readonly runs: number
  readonly baseline: number
  readonly samples: number
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      only: { type: 'string' },
      runs: { type: 'string', default: '100000' },
      baseline: { type: 'string', default: '10000' },
      'limit-mib': { type: 'string', default: '50' },
      samples: { type: 'string', default: '10' },
      child: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  })
  if (values.help) {
    console.log('usage: npm run bench:soak -- [--only id,…] [--runs N] [--baseline N] [--limit-mib N] [--samples N]')
    console.log(`targets: ${TARGETS.map((t) => t.id).join(', ')}`)
    return
  }
  const plan: Plan = {
    runs: positive(values.runs, 'runs'),
    baseline: positive(values.baseline, 'baseline'),
    samples: positive(values.samples, 'samples'),
  }
  if (plan.baseline >= plan.runs) throw new Error('--baseline must be smaller than --runs')
  if (values.child !== undefined) return soak(targetById(values.child), plan)

  const limitMiB = positive(values['limit-mib'], 'limit-mib')
  const targets = values.only === undefined ? TARGETS : values.only.split(',').map((id) => targetById(id.trim()))
  let failed = false
  console.log(`W1 soak: RSS after ${plan.runs} runs vs after ${plan.baseline}, limit +${limitMiB} MiB\n`)
  for (const target of targets) {
    console.log(`${target.title} (${target.id})`)
    const samples = await soakInChild(target, plan)
    console.log('| runs | RSS MiB | JS heap MiB | runs/s since previous |')
    console.log('|---:|---:|---:|---:|')
    samples.forEach((sample, i) => {
      const previous = samples[i - 1]
      const rate = previous ? ((sample.runs - previous.runs) * 1000) / (sample.elapsedMs - previous.elapsedMs) : NaN
      console.log(
        `| ${sample.runs} | ${(sample.rssBytes / MiB).toFixed(1)} | ${(sample.heapBytes / MiB).toFixed(1)} | ` +
          `${Number.isNaN(rate) ? '—' : rate.toFixed(0)} |`,
      )
    })
    const base = samples.find((s) => s.runs === plan.baseline)
    const end = samples.find((s) => s.runs === plan.runs)
    if (!base || !end) throw new Error(`${target.id}: the soak ended before ${plan.runs} runs`)
    const growthMiB = (end.rssBytes - base.rssBytes) / MiB
    const pass = growthMiB <= limitMiB
    failed ||= !pass
    const perRunKiB = ((end.rssBytes - base.rssBytes) / (plan.runs - plan.baseline) / 1024).toFixed(2)
    console.log(
      `${pass ? 'PASS' : 'FAIL'}: RSS ${(base.rssBytes / MiB).toFixed(1)} → ${(end.rssBytes / MiB).toFixed(1)} MiB ` +
        `(${growthMiB >= 0 ? '+' : ''}${growthMiB.toFixed(1)} MiB, ${perRunKiB} KiB/run; limit +${limitMiB} MiB)\n`,
    )
  }
  process.exitCode = failed ? 1 : 0
}

/** The child: opens the target, runs W1 `plan.runs` times, prints a sample line at each checkpoint. */
async function soak(target: Target, plan: Plan): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc
  if (!gc) throw new Error('the soak child needs --expose-gc')
  const checkpoints = new Set([plan.baseline, plan.runs])
  const step = (plan.runs - plan.baseline) / plan.samples
  for (let i = 1; i < plan.samples; i++) checkpoints.add(Math.round(plan.baseline + i * step))
  for (let i = 1; i <= 4; i++) checkpoints.add(Math.round((plan.baseline * i) / 5))
  const session = await target.open()
  const started = performance.now()
  try {
    for (let runs = 1; runs <= plan.runs; runs++) {
      await session.run('W1')
      if (!checkpoints.has(runs)) continue
      gc()
      const { rss, heapUsed } = process.memoryUsage()
      const sample: Sample = { runs, rssBytes: rss, heapBytes: heapUsed, elapsedMs: performance.now() - started }
      console.log(`${SAMPLE_PREFIX}${JSON.stringify(sample)}`)
    }
  } finally {
    await session.close()
  }
}

function soakInChild(target: Target, plan: Plan): Promise<Sample[]> {
  const script = fileURLToPath(import.meta.url)
  const tsx = createRequire(import.meta.url).resolve('tsx')
  const args = ['--expose-gc', '--import', tsx, script, '--child', target.id]
  args.push('--runs', String(plan.runs), '--baseline', String(plan.baseline), '--samples', String(plan.samples))
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] })
  const samples: Sample[] = []
  let buffered = ''
  child.stdout.setEncoding('utf8')
  child.stdout.on('data', (chunk: string) => {
    buffered += chunk
    const lines = buffered.split('\n')
    buffered = lines.pop() ?? ''
    for (const line of lines) {
      if (!line.startsWith(SAMPLE_PREFIX)) continue
      const sample = JSON.parse(line.slice(SAMPLE_PREFIX.length)) as Sample
      samples.push(sample)
      process.stdout.write(`  ${sample.runs} runs: RSS ${(sample.rssBytes / MiB).toFixed(1)} MiB\n`)
    }
  })
  return new Promise((resolve, reject) => {
    child.once('error', reject)
    child.once('exit', (code) => (code === 0 ? resolve(samples) : reject(new Error(`${target.id}: soak child exited with ${code}`))))
  })
}

function targetById(id: string): Target {
  const target = TARGETS.find((t) => t.id === id)
  if (!target) throw new Error(`unknown soak target ${JSON.stringify(id)}; targets: ${TARGETS.map((t) => t.id).join(', ')}`)
  return target
}

function positive(text: string, name: string): number {
  const value = Number(text)
  if (!Number.isSafeInteger(value) || value <= 0) throw new Error(`--${name} must be a positive integer, got ${JSON.stringify(text)}`)
  return value
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : String(err))
  process.exit(1)
})
