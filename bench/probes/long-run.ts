/**
 * @module
 * Cost per step of one sequential run as the run gets longer (issue #17 part 4): builds a chain of N steps and runs it
 * through `engine.run` on the memory store and on a LibSQL file (one store each), for N in 10…10,000 (or `--steps a,b,c`).
 *
 * Run: `npx tsx bench/probes/long-run.ts [--steps 10,100,1000,10000] [--store memory,file] [--repeat 3]`. Prints
 * the median over `--repeat` runs of µs per step, wall and CPU (this process's user + system time, which moves far
 * less than wall time on a loaded machine); building the workflow is excluded and reported separately.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { Engine } from '../../src/core/engine'
import { defineStep } from '../../src/core/step'
import type { WorkflowStore } from '../../src/core/store'
import { workflow, type AnyWorkflow, type WorkflowBuilder } from '../../src/core/workflow'
import { createLibSQLStore } from '../../src/store/libsql/create-libsql-store'
import { MemoryStore } from '../../src/store/memory/memory-store'

const { values } = parseArgs({
  options: {
    steps: { type: 'string', default: '10,100,1000,3000,10000' },
    store: { type: 'string', default: 'memory,file' },
    repeat: { type: 'string', default: '1' },
  },
})
const repeat = Number(values.repeat)
const sizes = (values.steps as string).split(',').map(Number)
const stores = (values.store as string).split(',')

function chain(n: number): AnyWorkflow {
  let b: WorkflowBuilder<number, number> = workflow<number>({ id: `chain-${n}` })
  for (let i = 0; i < n; i++) b = b.then(defineStep({ id: `s${i}`, handler: (_c, x: number) => x + 1 }))
  return b.build()
}

async function open(kind: string, dir: string): Promise<WorkflowStore> {
  if (kind === 'memory') return new MemoryStore()
  return createLibSQLStore({ url: `file:${join(dir, `${Math.random()}.db`)}` })
}

const dir = mkdtempSync(join(tmpdir(), 'gorkflow-long-run-'))
try {
  for (const kind of stores) {
    // One store for every size, as a deployment has, with an untimed run first: the smallest size measured then
    // pays neither for JIT compilation nor for the store's first statements.
    const store = await open(kind, dir)
    const warm = chain(200)
    const warmEngine = new Engine({ store, workflows: [warm] })
    await warmEngine.run(warm.id, 0)
    await warmEngine.shutdown()
    for (const n of sizes) {
      const t0 = performance.now()
      const wf = chain(n)
      const built = performance.now() - t0
      const engine = new Engine({ store, workflows: [wf] })
      const walls: number[] = []
      const cpus: number[] = []
      for (let r = 0; r < repeat; r++) {
        const t1 = performance.now()
        const cpu0 = process.cpuUsage()
        const run = await engine.run(wf.id, 0)
        const cpu = process.cpuUsage(cpu0)
        walls.push(performance.now() - t1)
        cpus.push((cpu.user + cpu.system) / 1000)
        if (run.status !== 'COMPLETED' || run.output !== n) throw new Error(`run ended ${run.status} ${JSON.stringify(run.error)}`)
      }
      await engine.shutdown()
      const perStep = (all: number[]) => (((median(all) as number) * 1000) / n).toFixed(1).padStart(8)
      console.log(
        `${kind.padEnd(6)} ${String(n).padStart(6)} steps: ${perStep(walls)} µs/step wall, ${perStep(cpus)} µs/step CPU  (build ${built.toFixed(0)} ms)`,
      )
    }
    await (store as { close?: () => Promise<void> }).close?.()
  }
} finally {
  rmSync(dir, { recursive: true, force: true })
}

function median(values: number[]): number | undefined {
  return [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]
}
