import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { LibsqlBatchError, LibsqlError } from '@libsql/client'
import { afterEach, describe, expect, it } from 'vitest'
import { startCheckpointer } from '../../src/store/libsql/checkpointer'
import { FileClient } from '../../src/store/libsql/file-client'

const dirs: string[] = []
const clients: FileClient[] = []

async function open(groupCommit = true): Promise<FileClient> {
  const dir = mkdtempSync(join(tmpdir(), 'gorkflow-file-client-'))
  dirs.push(dir)
  const client = new FileClient({ path: join(dir, 'client.db'), busyTimeoutMs: 1_000, groupCommit })
  clients.push(client)
  await client.execute('PRAGMA journal_mode = WAL')
  await client.execute('CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, big INTEGER)')
  return client
}

afterEach(() => {
  for (const client of clients.splice(0)) client.close()
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

/** WAL frames written since the last checkpoint: one per page per SQLite commit. */
async function walFrames(client: FileClient): Promise<number> {
  const { rows } = await client.execute('PRAGMA wal_checkpoint(PASSIVE)')
  return Number(rows[0]?.[1])
}

async function names(client: FileClient): Promise<string[]> {
  const { rows } = await client.execute('SELECT name FROM items ORDER BY id')
  return rows.map((row) => String(row['name']))
}

const insert = (id: number, name: string) => ({ sql: 'INSERT INTO items (id, name) VALUES (?, ?)', args: [id, name] })

describe('FileClient', () => {
  it('commits write batches issued in the same turn as one SQLite transaction', async () => {
    const frames: Record<string, number> = {}
    for (const groupCommit of [true, false]) {
      const client = await open(groupCommit)
      await client.execute('PRAGMA wal_checkpoint(TRUNCATE)')
      await Promise.all([1, 2, 3, 4].map((id) => client.batch([insert(id, `n${id}`)])))
      frames[String(groupCommit)] = await walFrames(client)
      expect(await names(client)).toEqual(['n1', 'n2', 'n3', 'n4'])
    }
    // Four commits each rewrite the table's page; one commit writes it once.
    expect(frames['true']).toBeLessThan(frames['false'] as number)
    expect(frames['false']).toBeGreaterThanOrEqual(4)
  })

  it('rolls back and rejects only the batch that failed; the others of its group commit', async () => {
    const client = await open()
    await client.batch([insert(1, 'taken')])
    const outcomes = await Promise.allSettled([
      client.batch([insert(2, 'a')]),
      client.batch([insert(3, 'b'), insert(4, 'taken')]),
      client.batch([insert(5, 'c')]),
    ])
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled'])
    const failure = (outcomes[1] as PromiseRejectedResult).reason
    expect(failure).toBeInstanceOf(LibsqlBatchError)
    expect(failure).toMatchObject({ code: 'SQLITE_CONSTRAINT', statementIndex: 1 })
    expect(await names(client)).toEqual(['taken', 'a', 'c'])
  })

  it('applies calls in the order they were made: a read sees a batch queued before it', async () => {
    const client = await open()
    const write = client.batch([insert(1, 'first')])
    const read = client.execute('SELECT count(*) AS n FROM items')
    await write
    expect((await read).rows[0]?.['n']).toBe(1)
  })

  it('makes other calls wait while an interactive transaction holds the connection', async () => {
    const client = await open()
    const tx = await client.transaction('write')
    await tx.execute(insert(1, 'in-tx'))
    let outsideDone = false
    const outside = client.execute(insert(2, 'outside')).then(() => {
      outsideDone = true
    })
    const second = client.transaction('write')
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect(outsideDone).toBe(false)
    await tx.rollback()
    await outside
    const next = await second
    await next.execute(insert(3, 'second-tx'))
    await next.commit()
    expect(tx.closed).toBe(true)
    expect(await names(client)).toEqual(['outside', 'second-tx'])
  })

  it('reports SQLite errors as LibsqlError with base and extended codes', async () => {
    const client = await open()
    await client.execute(insert(1, 'x'))
    const err = await client.execute(insert(2, 'x')).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(LibsqlError)
    expect(err).toMatchObject({ code: 'SQLITE_CONSTRAINT', extendedCode: 'SQLITE_CONSTRAINT_UNIQUE' })
    await expect(client.execute('SELECT nope FROM items')).rejects.toMatchObject({ code: 'SQLITE_ERROR' })
  })

  it('returns rows by name and by index, and refuses integers a number cannot hold', async () => {
    const client = await open()
    await client.execute({ sql: 'INSERT INTO items (id, name, big) VALUES (?, ?, ?)', args: [1, 'a', 2n ** 60n] })
    await client.execute({ sql: 'INSERT INTO items (id, name, big) VALUES (?, ?, ?)', args: [2, 'b', 42] })
    const { rows, columns } = await client.execute('SELECT id, name, big FROM items WHERE id = 2')
    expect(columns).toEqual(['id', 'name', 'big'])
    expect(rows[0]?.[1]).toBe('b')
    expect({ ...rows[0] }).toEqual({ id: 2, name: 'b', big: 42 })
    await expect(client.execute('SELECT big FROM items WHERE id = 1')).rejects.toThrow(RangeError)
    await expect(client.execute({ sql: 'SELECT ?', args: [Number.NaN] })).rejects.toThrow(RangeError)
  })

  it('sees schema changes made after a statement was cached', async () => {
    const client = await open()
    await client.execute(insert(1, 'a'))
    expect((await client.execute('SELECT * FROM items')).columns).toEqual(['id', 'name', 'big'])
    await client.executeMultiple('ALTER TABLE items ADD COLUMN extra TEXT DEFAULT \'e\'')
    const { columns, rows } = await client.execute('SELECT * FROM items')
    expect(columns).toEqual(['id', 'name', 'big', 'extra'])
    expect(rows[0]?.['extra']).toBe('e')
  })

  it('rejects calls after close, and works again after reconnect', async () => {
    const client = await open()
    await client.execute(insert(1, 'kept'))
    client.close()
    await expect(client.execute('SELECT 1')).rejects.toMatchObject({ code: 'CLIENT_CLOSED' })
    client.reconnect()
    expect(await names(client)).toEqual(['kept'])
  })

  it('checkpoints from its worker thread, not in the commits, once asked to', async () => {
    const client = await open()
    await client.checkpointInBackground(20)
    expect((await client.execute('PRAGMA wal_autocheckpoint')).rows[0]?.[0]).toBe(10_000)
    const file = join(dirs.at(-1) as string, 'client.db')
    const before = statSync(file).size
    const blob = 'x'.repeat(3_000)
    for (let i = 0; i < 200; i++) await client.execute({ sql: 'INSERT INTO items (id, name) VALUES (?, ?)', args: [i, `${i}${blob}`] })
    // Only a checkpoint copies the log into the database file; this connection makes none.
    for (let waited = 0; statSync(file).size < before + 200 * 3_000 && waited < 5_000; waited += 20) {
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    expect(statSync(file).size).toBeGreaterThan(before + 200 * 3_000)
  })
})

describe('a process with a file store', () => {
  it('exits cleanly right after closing it, however busy the checkpointer thread was', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gorkflow-exit-'))
    dirs.push(dir)
    const store = new URL('../../src/store/libsql/create-libsql-store.ts', import.meta.url).href
    // Exiting while the thread was inside the native engine aborted the process (a panic in its bindings).
    const script = `
      const { createLibSQLStore } = await import(${JSON.stringify(store)})
      const store = await createLibSQLStore({ url: 'file:' + process.argv[1], checkpointIntervalMs: 1 })
      const client = store.db.$client
      await client.execute('CREATE TABLE filler (v TEXT)')
      const blob = 'x'.repeat(2000)
      for (let i = 0; i < 300; i++) await client.execute({ sql: 'INSERT INTO filler (v) VALUES (?)', args: [blob] })
      await store.close()
      process.exit(0)`
    const tsx = createRequire(import.meta.url).resolve('tsx')
    for (let i = 0; i < 3; i++) {
      const child = spawnSync(process.execPath, ['--import', tsx, '--input-type=module', '-e', script, join(dir, `exit-${i}.db`)], {
        encoding: 'utf8',
        timeout: 60_000,
      })
      expect(child.stderr).not.toContain('panicked')
      expect(child.status).toBe(0)
    }
    // Three processes, each loading tsx: minutes on a loaded 2-core machine; the assertions are on exit status only.
  }, 180_000)
})

describe('startCheckpointer', () => {
  it('reports a thread that cannot open the database', async () => {
    const failure = await new Promise<Error>((resolve) => {
      startCheckpointer({ path: '/nonexistent-dir/x.db', busyTimeoutMs: 10, intervalMs: 10, onFailure: resolve })
    })
    expect(failure).toBeInstanceOf(Error)
  })
})

