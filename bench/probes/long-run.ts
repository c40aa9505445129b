/**
 * @module
 * Cost per step of one sequential run as the run gets longer (issue #17 part 4): builds a chain of N steps and runs it
 * once through `engine.run` on the memory store and on a LibSQL file, for N in 10…10,000 (or `--steps a,b,c`).
 *
 * Run: `npx tsx bench/probes/long-run.ts [--steps 10,100,1000,10000] [--store memory,file]`. Prints µs per step,
 * wall and CPU (this process's user + system time, which moves far less than wall time on a loaded machine), build
 * excluded and reported separately.
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

const { values } = parseArgs({ options: { steps: { type: 'string', default: '10,100,1000,3000,10000' }, store: { type: 'string', default: 'memory,file' } } })
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
    // One untimed run first, so the smallest size measured is not also the one that pays for JIT compilation.
    const warm = chain(200)
    const warmStore = await open(kind, dir)
    const warmEngine = new Engine({ store: warmStore, workflows: [warm] })
    await warmEngine.run(warm.id, 0)
    await warmEngine.shutdown()
    await (warmStore as { close?: () => Promise<void> }).close?.()
    for (const n of sizes) {
      const t0 = performance.now()
      const wf = chain(n)
      const built = performance.now() - t0
      const store = await open(kind, dir)
      const engine = new Engine({ store, workflows: [wf] })
      const t1 = performance.now()
      const cpu0 = process.cpuUsage()
      const run = await engine.run(wf.id, 0)
      const cpu = process.cpuUsage(cpu0)
      const ms = performance.now() - t1
      if (run.status !== 'COMPLETED' || run.output !== n) throw new Error(`run ended ${run.status} ${JSON.stringify(run.error)}`)
      const cpuMs = (cpu.user + cpu.system) / 1000
      const perStep = (total: number) => ((total * 1000) / n).toFixed(1).padStart(8)
      console.log(
        `${kind.padEnd(6)} ${String(n).padStart(6)} steps: ${perStep(ms)} µs/step wall, ${perStep(cpuMs)} µs/step CPU  (build ${built.toFixed(0)} ms)`,
      )
      await engine.shutdown()
      await (store as { close?: () => Promise<void> }).close?.()
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true })
}
