/**
 * @module
 * A workflow whose handlers record every invocation durably in a SQLite table of their own (through `deps`),
 * so crash tests can compare handler invocations with the completions the engine recorded.
 */
import Database from 'better-sqlite3'
import { z } from 'zod'
import { defineStep, type AnyStep } from '../../src/core/step'
import type { Durability } from '../../src/core/step-config'
import { workflow, type AnyWorkflow } from '../../src/core/workflow'

export interface Invocation {
  readonly runId: string
  readonly stepId: string
  readonly attempt: number
  readonly pid: number
  readonly startedAt: number
  readonly endedAt: number | null
  /** How the handler ended: `ok`, `failed` (it threw), `aborted` (it threw after its signal aborted); null: it never did. */
  readonly outcome: string | null
}

/** The invocation log: one row per handler call, written before the handler does anything else. */
export class ProbeLog {
  readonly #db: InstanceType<typeof Database>

  constructor(path: string) {
    this.#db = new Database(path)
    this.#db.exec('PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 10000;')
    this.#db.exec(`CREATE TABLE IF NOT EXISTS invocations (
      id INTEGER PRIMARY KEY AUTOINCREMENT, run_id TEXT NOT NULL, step_id TEXT NOT NULL, attempt INTEGER NOT NULL,
      pid INTEGER NOT NULL, started_at INTEGER NOT NULL, ended_at INTEGER, outcome TEXT)`)
  }

  begin(runId: string, stepId: string, attempt: number): number {
    const info = this.#db
      .prepare('INSERT INTO invocations (run_id, step_id, attempt, pid, started_at) VALUES (?, ?, ?, ?, ?)')
      .run(runId, stepId, attempt, process.pid, Date.now())
    return Number(info.lastInsertRowid)
  }

  end(id: number, outcome: 'ok' | 'failed' | 'aborted' = 'ok'): void {
    this.#db.prepare('UPDATE invocations SET ended_at = ?, outcome = ? WHERE id = ?').run(Date.now(), outcome, id)
  }

  all(): Invocation[] {
    return (
      this.#db.prepare('SELECT run_id, step_id, attempt, pid, started_at, ended_at, outcome FROM invocations ORDER BY id').all() as {
        run_id: string
        step_id: string
        attempt: number
        pid: number
        started_at: number
        ended_at: number | null
        outcome: string | null
      }[]
    ).map((r) => ({
      runId: r.run_id,
      stepId: r.step_id,
      attempt: r.attempt,
      pid: r.pid,
      startedAt: r.started_at,
      endedAt: r.ended_at,
      outcome: r.outcome,
    }))
  }

  close(): void {
    this.#db.close()
  }
}

declare module '../../src/core/step' {
  interface StepDeps {
    probe?: ProbeLog
  }
}

const num = z.object({ n: z.number() })

/** `steps` sequential steps, each adding 1 after a short pause so that kills land inside handlers. */
export function probeWorkflow(steps = 5, pauseMs: readonly [number, number] = [5, 40], durability: Durability = 'step'): AnyWorkflow {
  const make = (id: string): AnyStep =>
    defineStep({
      id,
      input: num,
      output: num,
      maxRetries: 20,
      retryDelayMs: 0,
      handler: async (ctx, { n }) => {
        const row = ctx.deps.probe?.begin(ctx.runId, ctx.stepId, ctx.attempt)
        const [lo, hi] = pauseMs
        await new Promise((r) => setTimeout(r, lo + Math.floor(Math.random() * (hi - lo))))
        if (row !== undefined) ctx.deps.probe?.end(row)
        return { n: n + 1 }
      },
    })
  let builder = workflow({ id: 'probe', input: num, config: { durability } }).then(make('s1'))
  for (let i = 2; i <= steps; i++) builder = builder.then(make(`s${i}`))
  return builder.build()
}

/** Pairs of invocations of the same step whose time spans overlap (two attempts running at once). */
export function overlappingInvocations(invocations: readonly Invocation[], now = Date.now()): number {
  const byStep = new Map<string, Invocation[]>()
  for (const inv of invocations) {
    const key = `${inv.runId}/${inv.stepId}`
    byStep.set(key, [...(byStep.get(key) ?? []), inv])
  }
  let overlaps = 0
  for (const list of byStep.values()) {
    for (let i = 0; i < list.length; i++) {
      for (let j = i + 1; j < list.length; j++) {
        const a = list[i] as Invocation
        const b = list[j] as Invocation
        if (a.startedAt < (b.endedAt ?? now) && b.startedAt < (a.endedAt ?? now)) overlaps++
      }
    }
  }
  return overlaps
}
