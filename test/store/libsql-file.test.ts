/**
 * LibSQL-specific behaviour on the embedded engine (`file:` URLs), beyond the shared store contract:
 * persistence across restarts, several processes on one file, migrations, plain-SQL access, cascades,
 * the sweeper's due_at column, query plans and one call per store method.
 */
import { spawn } from 'node:child_process'
import { cpSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createClient } from '@libsql/client/node'
import Database from 'better-sqlite3'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { RunRecord, StepExecution } from '../../src/core/model'
import { createLibSQLStore, migrateFile } from '../../src/store/libsql/create-libsql-store'
import { LibSQLStore } from '../../src/store/libsql/libsql-store'
import { LATEST_MIGRATION, MIGRATIONS_TABLE } from '../../src/store/libsql/remote-libsql-store'
import type { Lease } from '../../src/core/store'
import { makeRun, makeStep, T0 } from '../support/fixtures'
import { migratedFile, recordingClient, tempDir } from '../support/libsql-harness'
import type { TempDir } from '../support/libsql-harness'

const REPO = fileURLToPath(new URL('../..', import.meta.url))
const WORKER = fileURLToPath(new URL('../support/libsql-engine-worker.ts', import.meta.url))
const LEASE_MS = 30_000
const MIGRATION_COUNT = (
  JSON.parse(readFileSync(new URL('../../migrations/meta/_journal.json', import.meta.url), 'utf8')) as {
    entries: unknown[]
  }
).entries.length

let dir: TempDir
const opened: { close(): Promise<void> | void }[] = []

beforeEach(() => {
  dir = tempDir()
})

afterEach(async () => {
  for (const handle of opened.splice(0).reverse()) await handle.close()
  dir.dispose()
})

async function open(file: string, options: { busyTimeoutMs?: number } = {}): Promise<LibSQLStore> {
  const store = await createLibSQLStore({ url: `file:${file}`, ...options })
  opened.push(store)
  return store
}

/** A raw connection to the file through the engine itself, as any SQLite tool would open it. */
function rawConnection(file: string): InstanceType<typeof Database> {
  const db = new Database(file)
  opened.push({ close: () => void db.close() })
  return db
}

/** A row as a plain object, whatever the engine attaches to it. */
function plain(row: unknown): Record<string, unknown> {
  const { _metadata, ...fields } = row as Record<string, unknown>
  return fields
}

/** A run claimed by `owner-a` and committed RUNNING with a completed and a running step, and one state key. */
async function busyRun(store: LibSQLStore, overrides: Partial<RunRecord> = {}) {
  const run = (await store.createRun(makeRun(overrides))).run
  const claim = await store.claimRun(run.runId, 'owner-a', T0, LEASE_MS)
  if (claim === null) throw new Error('not claimable')
  const steps: StepExecution[] = [
    makeStep({ runId: run.runId, stepId: 'fetch', status: 'COMPLETED', output: { rows: [1, 2] }, completedAt: T0 + 1 }),
    makeStep({ runId: run.runId, stepId: 'store', executionIndex: 1, status: 'RUNNING', startedAt: T0 + 2 }),
  ]
  const { lease } = await store.commit(claim.lease, {
    now: T0 + 2,
    steps,
    run: { status: 'RUNNING', startedAt: T0, progress: 0.5 },
    leaseExpiresAt: T0 + 2 + LEASE_MS,
  })
  await store.saveState(run.runId, 'cursor', { page: 2 }, T0 + 2)
  await store.deliverEvent(run.runId, 'approved', { by: 'ops' }, T0 + 2)
  return { run, lease, steps }
}

describe('LibSQLStore on a file', () => {
  it('keeps runs, steps, outputs and state across close and reopen', async () => {
    const file = dir.file('restart.db')
    const first = await createLibSQLStore({ url: `file:${file}` })
    const { run } = await busyRun(first, { idempotencyKey: 'once' })
    const done = (await first.createRun(makeRun({ status: 'COMPLETED', completedAt: T0 + 9 }))).run
    const before = {
      run: await first.getRun(run.runId),
      steps: await first.listStepExecutions(run.runId),
      output: await first.loadStepOutput(run.runId, 'fetch'),
      state: await first.getAllState(run.runId),
      event: await first.loadEvent(run.runId, 'approved'),
      page: await first.listRuns(),
      due: await first.listDueRuns(T0 + LEASE_MS + 10, 10),
    }
    await first.close()

    const second = await open(file)
    expect(await second.getRun(run.runId)).toEqual(before.run)
    expect(await second.listStepExecutions(run.runId)).toEqual(before.steps)
    expect(await second.loadStepOutput(run.runId, 'fetch')).toEqual(before.output)
    expect(await second.getAllState(run.runId)).toEqual(before.state)
    expect(await second.loadEvent(run.runId, 'approved')).toEqual(before.event)
    expect(await second.listRuns()).toEqual(before.page)
    expect(await second.listDueRuns(T0 + LEASE_MS + 10, 10)).toEqual(before.due)
    expect(await second.getRun(done.runId)).toEqual(done)
    // The idempotency index survived too.
    expect((await second.createRun(makeRun({ idempotencyKey: 'once' }))).created).toBe(false)
  })

  it('waits out another process holding the write lock instead of failing with SQLITE_BUSY', async () => {
    const file = await migratedFile(dir)
    const store = await open(file)
    const holder = await holdWriteLock(file, 400)
    // SQLite admits one writer: this write succeeds only by waiting out the holder (busy timeout), not failing.
    const run = makeRun()
    await store.createRun(run)
    expect(await store.getRun(run.runId)).toEqual(run)
    await holder.exited
  })

  it('reports a lock held past the busy timeout as STORE_UNAVAILABLE, then works once it is released', async () => {
    const file = await migratedFile(dir)
    const store = await open(file, { busyTimeoutMs: 50 })
    const holder = await holdWriteLock(file, 600)
    await expect(store.createRun(makeRun())).rejects.toMatchObject({
      code: 'STORE_UNAVAILABLE',
      message: expect.stringMatching(/locked|busy/i),
    })
    await holder.exited
    const run = makeRun()
    await store.createRun(run)
    expect(await store.getRun(run.runId)).toEqual(run)
  })

  it('lets three engine processes sweep one file at once: every step runs exactly once, no SQLITE_BUSY', async () => {
    const file = await migratedFile(dir)
    const store = await open(file)
    const runs: RunRecord[] = []
    for (let i = 0; i < 40; i++) {
      runs.push((await store.createRun(makeRun({ workflowId: 'libsql-race', workflowVersion: '1.0', input: { n: i }, createdAt: T0 + i }))).run)
    }
    const workers = ['proc-0', 'proc-1', 'proc-2'].map((owner) => startWorker(file, owner))
    await Promise.all(workers.map((w) => w.ready))
    for (const w of workers) w.go()
    const reports = await Promise.all(workers.map((w) => w.report))

    expect(reports.flatMap((r) => r.errors)).toEqual([])
    const invocations = reports.flatMap((r) => r.invocations)
    const expected = runs.flatMap((r) => ['a', 'b', 'c'].map((step) => `${r.runId}/${step}/0`))
    expect(invocations.slice().sort()).toEqual(expected.sort())
    for (const run of runs) expect((await store.getRun(run.runId)).status).toBe('COMPLETED')
    // The processes really raced: more than one of them executed runs.
    expect(reports.filter((r) => r.invocations.length > 0).length).toBeGreaterThan(1)
  }, 120_000)

  it('migrates a fresh file on open and changes nothing when opened again', async () => {
    const file = dir.file('fresh.db')
    const schemaOf = () =>
      rawConnection(file)
        .prepare("SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY name")
        .all()
        .map(plain)
    const ledger = () =>
      rawConnection(file).prepare(`SELECT hash, created_at FROM ${MIGRATIONS_TABLE} ORDER BY id`).all().map(plain)

    const first = await createLibSQLStore({ url: `file:${file}` })
    await first.close()
    const schema = schemaOf()
    const applied = ledger()
    expect(applied).toHaveLength(MIGRATION_COUNT)
    expect(applied.at(-1)).toMatchObject({ created_at: LATEST_MIGRATION.when })
    expect(schema.map((row) => (row as { name: string }).name)).toEqual(
      expect.arrayContaining([
        'workflow_runs',
        'step_executions',
        'workflow_state',
        'workflow_events',
        MIGRATIONS_TABLE,
      ]),
    )

    await (await createLibSQLStore({ url: `file:${file}` })).close()
    const client = createClient({ url: `file:${file}` })
    await migrateFile(client)
    client.close()
    expect(schemaOf()).toEqual(schema)
    expect(ledger()).toEqual(applied)
  })

  it('upgrades a file written before migration 0003: its steps survive the rebuild of step_executions', async () => {
    // The migrations as released before 0003: the same folder with the journal cut there.
    const before = dir.file('migrations-0002')
    cpSync(join(REPO, 'migrations'), before, { recursive: true })
    const journalPath = join(before, 'meta', '_journal.json')
    const journal = JSON.parse(readFileSync(journalPath, 'utf8')) as { entries: { tag: string }[] }
    const cut = journal.entries.findIndex((entry) => entry.tag.startsWith('0003_'))
    expect(cut).toBe(3)
    writeFileSync(journalPath, JSON.stringify({ ...journal, entries: journal.entries.slice(0, cut) }))

    const file = dir.file('upgraded.db')
    const old = await createLibSQLStore({ url: `file:${file}`, migrationsFolder: before })
    // Today's store reads and writes `interruptions` (migration 0004), which the old file lacks: add it so this
    // store can write the steps. 0003's rebuild copies only the columns it knows; 0004 adds this one back at 0.
    // The same for `workflow_fingerprint` (0005), `traceparent` and `run_tags` (0007), `parent_run_id` (0008) and
    // the webhook columns (0009), dropped again before the upgrade, which adds them (and fills run_tags from the
    // runs' tags).
    rawConnection(file).exec('ALTER TABLE step_executions ADD interruptions integer DEFAULT 0 NOT NULL')
    const laterRunColumns = ['workflow_fingerprint text', 'traceparent text', 'parent_run_id text', 'webhook text', 'webhook_due_at integer']
    for (const column of laterRunColumns) rawConnection(file).exec(`ALTER TABLE workflow_runs ADD ${column}`)
    rawConnection(file).exec('CREATE TABLE run_tags (tag_key text, tag_value text, created_at integer, run_id text, PRIMARY KEY (tag_key, tag_value, created_at, run_id))')
    const { run, steps } = await busyRun(old, { tags: { env: 'prod' } })
    await old.close()
    for (const column of laterRunColumns) rawConnection(file).exec(`ALTER TABLE workflow_runs DROP COLUMN ${column.split(' ')[0]}`)
    rawConnection(file).exec('DROP TABLE run_tags')
    const tableSql = () =>
      String(plain(rawConnection(file).prepare("SELECT sql FROM sqlite_master WHERE name = 'step_executions'").get()).sql)
    expect(tableSql()).not.toContain('WITHOUT ROWID')

    const store = await open(file)
    expect(tableSql()).toContain('WITHOUT ROWID')
    expect(await store.listStepExecutions(run.runId)).toEqual(steps)
    expect(await store.loadStepOutput(run.runId, 'fetch')).toEqual({ rows: [1, 2] })
    expect((await store.listRuns({ tags: { env: 'prod' } })).runs.map((r) => r.runId)).toEqual([run.runId])
    const indexes = rawConnection(file).prepare("SELECT name FROM sqlite_master WHERE tbl_name = 'step_executions'")
    expect(indexes.all().map((row) => plain(row).name)).toEqual(['step_executions'])
  })

  it('opens one fresh file from several stores at once', async () => {
    const file = dir.file('together.db')
    const stores = await Promise.all([1, 2, 3].map(() => open(file)))
    const run = makeRun()
    await stores[0]?.createRun(run)
    for (const store of stores) expect(await store.getRun(run.runId)).toEqual(run)
    const ledger = rawConnection(file).prepare(`SELECT count(*) AS n FROM ${MIGRATIONS_TABLE}`).get()
    expect(plain(ledger)).toEqual({ n: MIGRATION_COUNT })
  })

  it('is readable with plain SQL: runs by status, JSON fields, steps joined to their run', async () => {
    const file = await migratedFile(dir)
    const store = await open(file)
    const { run } = await busyRun(store, { input: { order: { id: 'A-1' } }, tags: { env: 'prod' } })
    const completed = (await store.createRun(makeRun({ status: 'COMPLETED', completedAt: T0 + 5 }))).run
    const db = rawConnection(file)

    expect(db.prepare("SELECT run_id FROM workflow_runs WHERE status = 'COMPLETED'").all().map(plain)).toEqual([
      { run_id: completed.runId },
    ])
    expect(
      plain(
        db
          .prepare(
            "SELECT json_extract(input, '$.order.id') AS order_id, json_extract(tags, '$.env') AS env, progress " +
              'FROM workflow_runs WHERE run_id = ?',
          )
          .get(run.runId),
      ),
    ).toEqual({ order_id: 'A-1', env: 'prod', progress: 0.5 })
    expect(
      db
        .prepare(
          "SELECT s.step_id, s.status, CASE WHEN s.status IN ('COMPLETED', 'SKIPPED') THEN s.output END AS output " +
            'FROM step_executions s JOIN workflow_runs r USING (run_id) WHERE r.run_id = ? ORDER BY s.execution_index',
        )
        .all(run.runId)
        .map(plain),
    ).toEqual([
      { step_id: 'fetch', status: 'COMPLETED', output: '{"rows":[1,2]}' },
      { step_id: 'store', status: 'RUNNING', output: null },
    ])
    const byStatus = db.prepare('SELECT status, count(*) AS n FROM workflow_runs GROUP BY status ORDER BY status')
    expect(byStatus.all().map(plain)).toEqual([
      { status: 'COMPLETED', n: 1 },
      { status: 'RUNNING', n: 1 },
    ])
  })

  it('deletes steps, outputs and state through ON DELETE CASCADE when runs are deleted with plain SQL', async () => {
    const file = await migratedFile(dir)
    const store = await open(file)
    const old = await busyRun(store)
    await store.commit(old.lease, {
      now: T0 + 10,
      steps: [{ ...(old.steps[1] as StepExecution), status: 'COMPLETED', output: 'ok' }],
      run: { status: 'COMPLETED', completedAt: T0 + 10, progress: 1 },
      leaseExpiresAt: null,
    })
    const kept = await busyRun(store)
    const db = rawConnection(file)
    expect(plain(db.prepare('PRAGMA foreign_keys').get())).toEqual({ foreign_keys: 1 })

    // The cleanup query of docs/libsql.md: terminal runs completed before a cutoff.
    const cleanup = db
      .prepare(
        "DELETE FROM workflow_runs WHERE status IN ('COMPLETED', 'FAILED', 'CANCELLED') AND completed_at < ?",
      )
      .run(T0 + 3_600_000)
    expect(cleanup.changes).toBe(1)

    const count = (table: string, runId: string) =>
      (db.prepare(`SELECT count(*) AS n FROM ${table} WHERE run_id = ?`).get(runId) as { n: number }).n
    for (const table of ['step_executions', 'workflow_state', 'workflow_events']) {
      expect(count(table, old.run.runId)).toBe(0)
      expect(count(table, kept.run.runId)).toBeGreaterThan(0)
    }
    await expect(store.getRun(old.run.runId)).rejects.toMatchObject({ code: 'RUN_NOT_FOUND' })
  })

  it('keeps due_at equal to when a sweeper may claim the run, through every kind of write', async () => {
    const file = await migratedFile(dir)
    const store = await open(file)
    const db = rawConnection(file)
    const dueAt = (runId: string) =>
      (db.prepare('SELECT due_at FROM workflow_runs WHERE run_id = ?').get(runId) as { due_at: number | null }).due_at

    const run = (await store.createRun(makeRun())).run
    expect(dueAt(run.runId)).toBe(0)
    const claim = await store.claimRun(run.runId, 'owner-a', T0, 1_000)
    expect(dueAt(run.runId)).toBe(T0 + 1_000)
    let lease = claim?.lease as Lease
    const running = await store.commit(lease, {
      now: T0 + 1,
      steps: [],
      run: { status: 'RUNNING' },
      leaseExpiresAt: T0 + 5_000,
    })
    lease = running.lease
    expect(dueAt(run.runId)).toBe(T0 + 5_000)
    await store.transitionRun(run.runId, { from: ['RUNNING'], to: 'PAUSED', now: T0 + 1 })
    expect(dueAt(run.runId)).toBeNull()
    await store.transitionRun(run.runId, { from: ['PAUSED'], to: 'RUNNING', now: T0 + 1 })
    expect(dueAt(run.runId)).toBe(T0 + 5_000)
    const waitingFor = { kind: 'event', stepId: 'approve', name: 'go', until: T0 + 90_000 } as const
    const wait = { wakeAt: T0 + 90_000, waitingFor }
    await store.commit(lease, { now: T0 + 2, steps: [], run: wait, leaseExpiresAt: null })
    expect(dueAt(run.runId)).toBe(T0 + 90_000)
    await store.deliverEvent(run.runId, 'go', null, T0 + 60_000)
    expect(dueAt(run.runId)).toBe(T0 + 60_000)
    expect(await store.listDueRuns(T0 + 59_999, 10)).toEqual([])
    expect(await store.listDueRuns(T0 + 60_000, 10)).toEqual([run.runId])
    const again = await store.claimRun(run.runId, 'owner-b', T0 + 60_000, 1_000)
    await store.commit(again?.lease as Lease, {
      now: T0 + 60_001,
      steps: [],
      run: { status: 'COMPLETED', completedAt: T0 + 60_001, wakeAt: null },
      leaseExpiresAt: null,
    })
    expect(dueAt(run.runId)).toBeNull()

    const leased = (await store.createRun(makeRun({ leaseOwner: 'x', leaseExpiresAt: T0 + 7, wakeAt: T0 + 3 }))).run
    expect(dueAt(leased.runId)).toBe(T0 + 7)
    const paused = (await store.createRun(makeRun({ status: 'PAUSED' }))).run
    expect(dueAt(paused.runId)).toBeNull()
    await store.cancelRun(leased.runId, T0 + 8)
    expect(dueAt(leased.runId)).toBeNull()
  })

  it('writes neither the lease columns nor due_at in a commit that keeps the lease', async () => {
    const file = await migratedFile(dir)
    const { client, statements } = recordingClient(createClient({ url: `file:${file}` }))
    const store = new LibSQLStore(client)
    opened.push(store)
    const run = (await store.createRun(makeRun())).run
    const claim = await store.claimRun(run.runId, 'owner-a', T0, 1_000)
    const lease = claim?.lease as Lease
    const lastRunUpdate = () => {
      const update = statements.filter((s) => /^update "workflow_runs"/i.test(s.sql)).at(-1)?.sql ?? ''
      // Up to the fence's WHERE, the last one: a SET may hold a subquery with its own.
      return update.slice(0, update.toLowerCase().lastIndexOf(' where '))
    }

    const step = makeStep({ runId: run.runId, stepId: 'fetch', status: 'RUNNING', startedAt: T0 + 1 })
    await store.commit(lease, { now: T0 + 1, steps: [step], run: { progress: 0.5 }, leaseExpiresAt: lease.expiresAt })
    expect(lastRunUpdate()).not.toMatch(/due_at|lease_owner|lease_expires_at/)
    expect(await store.getRun(run.runId)).toMatchObject({
      leaseOwner: 'owner-a',
      leaseExpiresAt: T0 + 1_000,
      progress: 0.5,
      updatedAt: T0 + 1,
    })
    expect(await store.listDueRuns(T0 + 1_000, 10)).toEqual([run.runId])
    expect(await store.getStepExecution(run.runId, 'fetch')).toEqual(step)

    // A wake time is an input of due_at: the same kept lease then writes it.
    await store.commit(lease, { now: T0 + 2, steps: [], run: { wakeAt: T0 + 9_000 }, leaseExpiresAt: lease.expiresAt })
    expect(lastRunUpdate()).toMatch(/due_at/)
    expect(await store.listDueRuns(T0 + 8_999, 10)).toEqual([])
    expect(await store.listDueRuns(T0 + 9_000, 10)).toEqual([run.runId])
  })

  it('serves every query from an index: no table scan, no sort', async () => {
    const file = await migratedFile(dir)
    const raw = createClient({ url: `file:${file}` })
    const { client, statements } = recordingClient(raw)
    const store = new LibSQLStore(client)
    opened.push(store)
    await exerciseEveryMethod(store)

    const problems: string[] = []
    for (const { sql, args } of statements) {
      if (/^\s*(PRAGMA|SELECT 1\b)/i.test(sql)) continue
      const plan = await raw.execute({ sql: `EXPLAIN QUERY PLAN ${sql}`, args: args as never })
      for (const row of plan.rows) {
        const detail = String(row.detail)
        if (/^SCAN \w+$/.test(detail) || /TEMP B-TREE/.test(detail)) problems.push(`${detail} in: ${sql}`)
      }
    }
    expect(problems).toEqual([])
    expect(statements.length).toBeGreaterThan(20)
  })

  it('finds the next due time by the first entry of the partial due index', async () => {
    const file = await migratedFile(dir)
    const raw = createClient({ url: `file:${file}` })
    const { client, statements } = recordingClient(raw)
    const store = new LibSQLStore(client)
    opened.push(store)
    await store.createRun(makeRun({ status: 'RUNNING', wakeAt: T0 + 50 }))
    const before = statements.length
    expect(await store.nextDueAt()).toBe(T0 + 50)
    const [query] = statements.slice(before)
    expect(query?.sql).toMatch(/min\("due_at"\)/)
    const plan = await raw.execute({ sql: `EXPLAIN QUERY PLAN ${query?.sql}`, args: query?.args as never })
    expect(plan.rows.map((row) => String(row.detail))).toEqual([expect.stringMatching(/USING COVERING INDEX workflow_runs_due_idx/)])
  })

  it('makes exactly one client call (one round trip) per store method', async () => {
    const file = await migratedFile(dir)
    const { client, calls } = recordingClient(createClient({ url: `file:${file}` }))
    const store = new LibSQLStore(client)
    opened.push(store)
    const perMethod: Record<string, number> = {}
    const counted = new Proxy(store, {
      get(target, prop) {
        const value: unknown = Reflect.get(target, prop)
        if (typeof value !== 'function' || prop === 'close') return value
        return async (...args: unknown[]) => {
          const before = calls()
          try {
            return await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args)
          } finally {
            const used = calls() - before
            perMethod[String(prop)] = Math.max(perMethod[String(prop)] ?? 0, used)
          }
        }
      },
    })
    await exerciseEveryMethod(counted)
    const methods = [
      'createRun',
      'getRun',
      'listRuns',
      'claimRun',
      'commit',
      'listDueRuns',
      'nextDueAt',
      'cancelRun',
      'transitionRun',
      'deliverEvent',
      'loadEvent',
      'linkRetry',
      'getStepExecution',
      'listStepExecutions',
      'loadStepOutput',
      'saveState',
      'loadState',
      'getAllState',
      'deleteState',
      'deleteRun',
      'deleteFinishedRuns',
      'listDueWebhooks',
      'recordWebhookAttempt',
    ]
    expect(Object.keys(perMethod).sort()).toEqual(methods.slice().sort())
    expect(perMethod).toEqual(Object.fromEntries(methods.map((m) => [m, 1])))
  })

  it('reports a closed store and an unusable path as STORE_UNAVAILABLE', async () => {
    const store = await createLibSQLStore({ url: `file:${await migratedFile(dir)}` })
    await store.close()
    await expect(store.getRun('x')).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' })
    const notAFolder = dir.file('plain-file')
    writeFileSync(notAFolder, '')
    await expect(createLibSQLStore({ url: `file:${notAFolder}/store.db` })).rejects.toMatchObject({
      code: 'STORE_UNAVAILABLE',
    })
  })
})

/** Calls every store method at least once, on runs with steps, outputs and state. */
async function exerciseEveryMethod(store: LibSQLStore): Promise<void> {
  const { run, lease } = await busyRun(store, { resourceId: 'customer-1', idempotencyKey: 'k', tags: { env: 'prod', team: 'red' } })
  await store.createRun(makeRun({ tags: { env: 'prod' } }))
  await store.createRun(makeRun({ idempotencyKey: 'k' }))
  await store.getRun(run.runId)
  const page = await store.listRuns({ limit: 1 })
  await store.listRuns({ limit: 1, cursor: page.nextCursor })
  await store.listRuns({ workflowId: 'wf-test' })
  await store.listRuns({ status: 'RUNNING' })
  await store.listRuns({ resourceId: 'customer-1' })
  await store.listRuns({ workflowId: 'wf-test', status: 'RUNNING', resourceId: 'customer-1' })
  const tagged = await store.listRuns({ tags: { env: 'prod' }, limit: 1 })
  await store.listRuns({ tags: { env: 'prod', team: 'red' }, status: 'RUNNING', limit: 1, cursor: tagged.nextCursor })
  await store.listDueRuns(T0 + LEASE_MS * 2, 10)
  await store.nextDueAt()
  await store.getStepExecution(run.runId, 'fetch')
  await store.listStepExecutions(run.runId)
  await store.loadStepOutput(run.runId, 'fetch')
  await store.loadState(run.runId, 'cursor')
  await store.getAllState(run.runId)
  await store.deleteState(run.runId, 'cursor')
  await store.commit(lease, { now: T0 + 3, steps: [], run: { progress: 0.75 }, leaseExpiresAt: T0 + LEASE_MS })
  await store.transitionRun(run.runId, { from: ['RUNNING'], to: 'PAUSED', now: T0 + 3 })
  await store.transitionRun(run.runId, { from: ['PAUSED'], to: 'RUNNING', now: T0 + 3 })
  await store.deliverEvent(run.runId, 'rejected', { by: 'ops' }, T0 + 3)
  await store.loadEvent(run.runId, 'rejected')
  // Claims under a per-resource concurrency limit: one takes the slot, the next is held back.
  const limited = { workflowId: 'wf-limited', resourceId: 'customer-1', concurrencyLimit: 1 }
  const first = (await store.createRun(makeRun({ ...limited, createdAt: T0 }))).run
  const second = (await store.createRun(makeRun({ ...limited, createdAt: T0 + 1 }))).run
  await store.claimRun(first.runId, 'owner-a', T0, LEASE_MS)
  await store.claimRun(second.runId, 'owner-b', T0, LEASE_MS)
  await store.cancelRun(run.runId, T0 + 4)
  await store.linkRetry(run.runId, 'retry-run', T0 + 5)
  const hook = { url: 'https://hooks.example.com/x', attempts: 0, lastStatus: null, nextAttemptAt: T0, deliveredAt: null }
  const hooked = (await store.createRun(makeRun({ status: 'COMPLETED', completedAt: T0, webhook: hook }))).run
  await store.listDueWebhooks(T0 + 10, 10)
  await store.recordWebhookAttempt(hooked.runId, 0, { ...hook, attempts: 1, nextAttemptAt: T0 + 100 })
  const other = await busyRun(store)
  await store.deleteRun(other.run.runId)
  await store.deleteFinishedRuns(T0 + 100, 10)
}

/** Starts a process that holds `file`'s write lock (BEGIN IMMEDIATE) for `ms`, resolving once it holds it. */
async function holdWriteLock(file: string, ms: number): Promise<{ exited: Promise<void> }> {
  const script = `
    const Database = require('better-sqlite3')
    const db = new Database(process.argv[1])
    db.exec('BEGIN IMMEDIATE')
    process.stdout.write('locked\\n')
    setTimeout(() => { db.exec('COMMIT'); db.close() }, ${ms})`
  const child = spawn(process.execPath, ['-e', script, file], { cwd: REPO, stdio: ['ignore', 'pipe', 'inherit'] })
  const exited = new Promise<void>((done, fail) =>
    child.once('exit', (code) => (code === 0 ? done() : fail(new Error(`lock holder exited with ${code}`)))),
  )
  await new Promise<void>((locked, fail) => {
    child.stdout.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('locked')) locked()
    })
    child.once('exit', () => fail(new Error('lock holder exited before locking')))
  })
  return { exited }
}

interface WorkerReport {
  readonly owner: string
  readonly invocations: string[]
  readonly errors: string[]
}

/** Starts `test/support/libsql-engine-worker.ts` on `file`; `go()` lets it start sweeping. */
function startWorker(file: string, owner: string) {
  const child = spawn(process.execPath, ['--import', 'tsx', WORKER, file, owner], {
    cwd: REPO,
    stdio: ['pipe', 'pipe', 'inherit'],
  })
  let output = ''
  let markReady: () => void = () => {}
  const ready = new Promise<void>((done) => {
    markReady = done
  })
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString()
    if (output.includes('ready\n')) markReady()
  })
  const report = new Promise<WorkerReport>((done, fail) => {
    child.once('exit', (code) => {
      const line = output.trim().split('\n').at(-1) ?? ''
      try {
        done(JSON.parse(line) as WorkerReport)
      } catch {
        fail(new Error(`worker ${owner} exited with ${code} and printed ${JSON.stringify(output)}`))
      }
    })
  })
  return { ready, report, go: () => child.stdin.end('go\n') }
}
