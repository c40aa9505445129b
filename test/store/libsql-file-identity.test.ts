/**
 * The watch of a `file:` database's files (src/store/libsql/file-identity.ts): on plain files, where a -shm can be
 * truncated without a SQLite mapping to crash the test, and on a real store whose database file is deleted.
 */
import { spawnSync } from 'node:child_process'
import { chmodSync, renameSync, rmSync, truncateSync, writeFileSync } from 'node:fs'
import { afterEach, describe, expect, it } from 'vitest'
import { createLibSQLStore } from '../../src/store/libsql/create-libsql-store'
import { watchFileIdentity, type FileFault, type FileIdentityWatch } from '../../src/store/libsql/file-identity'
import { tempDir, type TempDir } from '../support/libsql-harness'

let dir: TempDir | undefined
let watch: FileIdentityWatch | undefined

afterEach(() => {
  watch?.stop()
  watch = undefined
  dir?.dispose()
  dir = undefined
})

/** A database file with its -wal and -shm as SQLite leaves them while open (a -shm grows in 32 KiB pieces). */
function plainFiles(): string {
  dir = tempDir('gorkflow-identity-')
  const db = dir.file('g.db')
  writeFileSync(db, Buffer.alloc(4096))
  writeFileSync(`${db}-wal`, Buffer.alloc(8192))
  writeFileSync(`${db}-shm`, Buffer.alloc(32768))
  return db
}

function watchPlain(db: string): FileFault[] {
  const faults: FileFault[] = []
  // No timer: every check in these tests is an explicit call.
  watch = watchFileIdentity(db, { intervalMs: 0, onFault: (fault) => faults.push(fault) })
  return faults
}

describe('watchFileIdentity', () => {
  it('finds nothing wrong with intact files, and lets the -wal shrink (a checkpoint rewinds it)', () => {
    const db = plainFiles()
    const faults = watchPlain(db)
    truncateSync(`${db}-wal`, 0)
    expect(watch?.check()).toBeNull()
    expect(faults).toEqual([])
  })

  it('reports the database file deleted, once however often it is checked', () => {
    const db = plainFiles()
    const faults = watchPlain(db)
    rmSync(db)
    for (let i = 0; i < 3; i++) expect(watch?.check()?.reason).toMatch(/^database file deleted or moved while open/)
    expect(faults).toEqual([{ reason: expect.stringMatching(/^database file deleted/), path: db }])
  })

  it('reports the database file replaced by another file at the same path', () => {
    const db = plainFiles()
    const faults = watchPlain(db)
    writeFileSync(`${db}.new`, Buffer.alloc(4096))
    renameSync(`${db}.new`, db)
    expect(watch?.check()?.reason).toMatch(/^database file replaced by another file while open/)
    expect(faults).toHaveLength(1)
  })

  it('reports a deleted -wal, naming the file in the fault', () => {
    const db = plainFiles()
    const faults = watchPlain(db)
    rmSync(`${db}-wal`)
    expect(watch?.check()).toEqual({ reason: '-wal file deleted while the database is open', path: `${db}-wal` })
    expect(faults).toHaveLength(1)
  })

  it('reports a -shm replaced by another file', () => {
    const db = plainFiles()
    const faults = watchPlain(db)
    writeFileSync(`${db}-shm.new`, Buffer.alloc(32768))
    renameSync(`${db}-shm.new`, `${db}-shm`)
    expect(watch?.check()).toEqual({ reason: '-shm file replaced while the database is open', path: `${db}-shm` })
    expect(faults).toHaveLength(1)
  })

  it('reports a truncated -shm, the fault that ends in SIGBUS at its next use', () => {
    const db = plainFiles()
    const faults = watchPlain(db)
    truncateSync(`${db}-shm`, 0)
    expect(watch?.check()).toEqual({
      reason: '-shm file truncated from 32768 to 0 bytes; its next use crashes the process (SIGBUS)',
      path: `${db}-shm`,
    })
    expect(faults).toHaveLength(1)
  })

  it('reports a -shm this process cannot write, as an unprivileged user (root passes every access check)', () => {
    const db = plainFiles()
    chmodSync(dir!.path, 0o755)
    for (const f of [db, `${db}-wal`]) chmodSync(f, 0o666)
    chmodSync(`${db}-shm`, 0o444)
    const script = `import('./src/store/libsql/file-identity.ts').then((m) => {
      const watch = m.watchFileIdentity(${JSON.stringify(db)}, { intervalMs: 0 })
      console.log(JSON.stringify(watch.check()))
      watch.stop()
    })`
    // As root, run the check in a child process that has dropped to `nobody`.
    const [file, ...args] =
      process.getuid?.() === 0
        ? ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', process.execPath]
        : [process.execPath]
    const child = spawnSync(file as string, [...args, '--import', 'tsx', '-e', script], { encoding: 'utf8' })
    expect(child.status, child.stderr).toBe(0)
    expect(JSON.parse(child.stdout)).toEqual({ reason: '-shm file not writable (EACCES)', path: `${db}-shm` })
  })

  it('picks up a -shm created after the watch began and watches it from then on', () => {
    const db = plainFiles()
    rmSync(`${db}-shm`)
    const faults = watchPlain(db)
    expect(watch?.check()).toBeNull()
    writeFileSync(`${db}-shm`, Buffer.alloc(32768))
    expect(watch?.check()).toBeNull()
    truncateSync(`${db}-shm`, 0)
    expect(watch?.check()?.reason).toMatch(/^-shm file truncated/)
    expect(faults).toHaveLength(1)
  })

  it('reports a fault from a folder event, without a call or a timer', async () => {
    const db = plainFiles()
    const seen = new Promise<FileFault>((resolve) => {
      watch = watchFileIdentity(db, { intervalMs: 0, onFault: resolve })
    })
    rmSync(db)
    expect((await seen).reason).toMatch(/^database file deleted/)
  })

  it('refuses to watch a file that does not exist', () => {
    dir = tempDir('gorkflow-identity-')
    expect(() => watchFileIdentity(dir!.file('missing.db'))).toThrow(/does not exist/)
  })
})

describe('a file: LibSQL store whose database file is deleted', () => {
  it('reports it from healthProblem() and to onFileFault once, and keeps working on the unlinked file', async () => {
    dir = tempDir('gorkflow-identity-')
    const file = dir.file('g.db')
    const faults: FileFault[] = []
    const store = await createLibSQLStore({ url: `file:${file}`, onFileFault: (fault) => faults.push(fault) })
    try {
      expect(store.healthProblem()).toBeNull()
      rmSync(file)
      expect(store.healthProblem()).toMatch(/^database file deleted or moved while open/)
      expect(store.healthProblem()).toMatch(/^database file deleted/)
      expect(faults).toEqual([{ reason: expect.stringMatching(/^database file deleted/), path: file }])
      // SQLite itself notices nothing: reads and writes still succeed, on a file nobody will open again.
      expect((await store.listRuns()).runs).toEqual([])
    } finally {
      await store.close()
    }
  })

  it('reports nothing across a clean close (which deletes the -wal and -shm) and a reopen', async () => {
    dir = tempDir('gorkflow-identity-')
    const file = dir.file('g.db')
    const faults: FileFault[] = []
    const onFileFault = (fault: FileFault) => faults.push(fault)
    const store = await createLibSQLStore({ url: `file:${file}`, onFileFault })
    expect(store.healthProblem()).toBeNull()
    await store.close()
    await new Promise((resolve) => setTimeout(resolve, 50)) // let any folder event of the close arrive
    const again = await createLibSQLStore({ url: `file:${file}`, onFileFault })
    try {
      expect(again.healthProblem()).toBeNull()
    } finally {
      await again.close()
    }
    expect(faults).toEqual([])
  })
})
