/**
 * @module
 * The native leak that moved the file store from the `libsql` binding to better-sqlite3: RSS after 300,000 calls
 * of one single-row SELECT on `:memory:`, per engine and read call, each in a fresh process. `libsql` 0.5.29's
 * `all()` grows by ~0.9 KB per call; its `get()` and better-sqlite3's `all()` stay flat (statement-cache.ts).
 *
 * Run: `npx tsx bench/probes/read-leak.ts [calls]`. Prints RSS in MiB before and after, and KB per call.
 */
import { spawnSync } from 'node:child_process'
import { createRequire } from 'node:module'

const CALLS = Number(process.argv[2] ?? 300_000)

/** Plain CommonJS for the child: no loader, nothing but the engine in the process. */
const CHILD = `
const [engine, method, calls] = process.argv.slice(1)
const Database = require(engine)
const db = new Database(':memory:')
const statement = db.prepare('SELECT 1 AS one, ? AS two')
statement.raw(true)
for (let i = 0; i < 1000; i++) statement[method]([i])
global.gc()
const before = process.memoryUsage().rss
for (let i = 0; i < Number(calls); i++) statement[method]([i])
global.gc()
const after = process.memoryUsage().rss
console.log(JSON.stringify({ before, after }))
`

const resolve = createRequire(import.meta.url).resolve
const MiB = 1024 * 1024
console.log(`${CALLS} calls of a single-row SELECT on :memory:, RSS in MiB (fresh process each)`)
console.log('| engine | call | RSS before | RSS after | growth | KB per call |')
console.log('|---|---|---:|---:|---:|---:|')
for (const engine of ['libsql', 'better-sqlite3']) {
  for (const method of ['all', 'get']) {
    const child = spawnSync(process.execPath, ['--expose-gc', '-e', CHILD, resolve(engine), method, String(CALLS)], {
      encoding: 'utf8',
    })
    if (child.status !== 0) throw new Error(`${engine} ${method} failed: ${child.stderr}`)
    const { before, after } = JSON.parse(child.stdout) as { before: number; after: number }
    const growth = after - before
    console.log(
      `| ${engine} | ${method}() | ${(before / MiB).toFixed(0)} | ${(after / MiB).toFixed(0)} | ` +
        `${(growth / MiB).toFixed(0)} | ${(growth / CALLS / 1024).toFixed(3)} |`,
    )
  }
}
