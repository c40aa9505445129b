/**
 * The schema and its migrations stay in step, and the remote path stays bundleable for Workers.
 */
import { spawn } from 'node:child_process'
import { cpSync, mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'
import { describe, expect, it } from 'vitest'
import { LATEST_MIGRATION } from '../../src/store/libsql/remote-libsql-store'

const REPO = fileURLToPath(new URL('../..', import.meta.url))

describe('LibSQL schema and migrations', () => {
  it('agree: drizzle-kit generate finds nothing to add to migrations/ for drizzle/schema.ts', async () => {
    // drizzle-kit prefixes `--out` with "./", so the scratch copy lives under the (git-ignored) .data folder.
    const scratch = join('.data', `migrations-check-${process.pid}-${Date.now()}`)
    const out = join(scratch, 'migrations')
    mkdirSync(join(REPO, scratch), { recursive: true })
    try {
      cpSync(join(REPO, 'migrations'), join(REPO, out), { recursive: true })
      const { code, output } = await run(process.execPath, [
        join(REPO, 'node_modules/drizzle-kit/bin.cjs'),
        'generate',
        '--dialect',
        'turso',
        '--schema',
        './drizzle/schema.ts',
        '--out',
        out,
      ])
      expect({ code, output }).toMatchObject({ code: 0, output: expect.stringContaining('No schema changes') })
      // drizzle-kit exits 0 on some failures too: the folder itself is the proof.
      expect(listing(join(REPO, out))).toEqual(listing(join(REPO, 'migrations')))
    } finally {
      rmSync(join(REPO, scratch), { recursive: true, force: true })
    }
  }, 60_000)

  it('bundle the newest migration of the journal as the schema version a remote database must have', () => {
    const journal = JSON.parse(readFileSync(join(REPO, 'migrations/meta/_journal.json'), 'utf8')) as {
      entries: { tag: string; when: number }[]
    }
    expect(LATEST_MIGRATION).toEqual({ tag: journal.entries.at(-1)?.tag, when: journal.entries.at(-1)?.when })
    for (const entry of journal.entries) expect(readdirSync(join(REPO, 'migrations'))).toContain(`${entry.tag}.sql`)
  })

  it('keep the remote store bundleable for Workers: no Node module and no native engine in its bundle', async () => {
    const result = await build({
      entryPoints: [join(REPO, 'src/store/libsql/remote-libsql-store.ts')],
      absWorkingDir: REPO,
      bundle: true,
      write: false,
      format: 'esm',
      // A browser platform fails the build on any `node:` import; workerd resolves packages the same way.
      platform: 'browser',
      conditions: ['workerd', 'worker', 'browser'],
      metafile: true,
      logLevel: 'silent',
    })
    const inputs = Object.keys(result.metafile.inputs)
    const nodeOnly = /node_modules\/libsql\/|@libsql\/client\/lib-esm\/(sqlite3|node)\.js/
    expect(inputs.filter((path) => nodeOnly.test(path))).toEqual([])
    expect(inputs).toContain('node_modules/@libsql/client/lib-esm/web.js')
  })
})

/** Relative path and content of every file under `root`, sorted. */
function listing(root: string): [string, string][] {
  const files: [string, string][] = []
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name)
      if (entry.isDirectory()) walk(path)
      else files.push([path.slice(root.length), readFileSync(path, 'utf8')])
    }
  }
  walk(root)
  return files.sort(([a], [b]) => (a < b ? -1 : 1))
}

function run(command: string, args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((done) => {
    const child = spawn(command, args, { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()))
    child.once('exit', (code) => done({ code, output }))
  })
}
