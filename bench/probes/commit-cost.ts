/**
 * @module
 * What one durable SQLite commit costs on this machine, with the engine the store uses (better-sqlite3) and its settings
 * (WAL, `synchronous = NORMAL`): an empty transaction, and transactions that dirty 1, 3, 5 and 10 pages. The floor
 * under the LibSQL file numbers (docs/performance.md): a W1 run makes 11 commits of 2 pages each.
 *
 * Run: `npx tsx bench/probes/commit-cost.ts`. Prints the median µs per transaction of 5 repetitions.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'

const ROWS = 4_000
/** Rows this far apart sit on different leaf pages (100-byte rows, 4 KiB pages: ~35 per page). */
const PAGE_STRIDE = 100
const TRANSACTIONS = 3_000

const dir = mkdtempSync(join(tmpdir(), 'gorkflow-commit-cost-'))
try {
  const db = new Database(join(dir, 'probe.db'))
  db.exec('PRAGMA journal_mode = WAL')
  db.exec('PRAGMA synchronous = NORMAL')
  db.exec('CREATE TABLE rows (id INTEGER PRIMARY KEY, counter INTEGER NOT NULL, pad TEXT NOT NULL)')
  const insert = db.prepare('INSERT INTO rows (id, counter, pad) VALUES (?, 0, ?)')
  db.exec('BEGIN')
  for (let id = 0; id < ROWS; id++) insert.run(id, 'p'.repeat(80))
  db.exec('COMMIT')
  const begin = db.prepare('BEGIN IMMEDIATE')
  const commit = db.prepare('COMMIT')
  const bump = db.prepare('UPDATE rows SET counter = counter + 1 WHERE id = ?')

  const transaction = (pages: number) => () => {
    begin.run()
    for (let page = 0; page < pages; page++) bump.run(page * PAGE_STRIDE)
    commit.run()
  }
  const [version] = db.prepare('SELECT sqlite_version()').raw().get() as [string]
  console.log(`SQLite ${version} (better-sqlite3), WAL, synchronous = NORMAL: one transaction that dirties N pages`)
  for (const pages of [0, 1, 3, 5, 10]) {
    const run = transaction(pages)
    for (let i = 0; i < 300; i++) run()
    const medians: number[] = []
    for (let rep = 0; rep < 5; rep++) {
      const start = performance.now()
      for (let i = 0; i < TRANSACTIONS; i++) run()
      medians.push(((performance.now() - start) / TRANSACTIONS) * 1000)
    }
    medians.sort((a, b) => a - b)
    console.log(`${String(pages).padStart(2)} pages: ${medians[2]!.toFixed(1)} µs`)
  }
  db.close()
} finally {
  rmSync(dir, { recursive: true, force: true })
}
