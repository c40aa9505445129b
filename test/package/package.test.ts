/**
 * The package as a user gets it: `npm pack` (its `prepack` builds `dist/`), the tarball installed into a fresh project
 * outside the repository, and there the README's way of using it: a workflow that type-checks (and a wrong chain that
 * does not), a run to COMPLETED on Node with an embedded file store, a remote database migrated by the package's
 * `gorkflow-migrate`, and a Worker built by `wrangler deploy --dry-run` that carries no Node-only code.
 */
import { execFile } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestServer } from '../support/libsql-harness'
import { CONSUMER_FILES } from './consumer-project'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
const BIN = join(ROOT, 'node_modules', '.bin')
const ZOD_VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> })
  .dependencies.zod

/** Every subpath of `exports` with a name each must export. */
const ENTRY_EXPORTS: Readonly<Record<string, readonly string[]>> = {
  gorkflow: ['Engine', 'workflow', 'defineStep', 'MemoryStore', 'GorkflowError', 'createApp'],
  'gorkflow/libsql': ['LibSQLStore', 'createRemoteLibSQLStore'],
  'gorkflow/libsql/node': ['LibSQLStore', 'createLibSQLStore', 'migrateFile'],
  'gorkflow/dynamodb': ['DynamoDBStore', 'createTable', 'dynamoDBStoreFromEnv'],
  'gorkflow/worker': ['createWorker'],
  'gorkflow/node': ['startNodeServer'],
}

/** Opens `gorkflow/libsql`'s store on TURSO_DATABASE_URL as a Worker would, and prints `open` or the refusal's code. */
const OPEN_REMOTE = `
  import { createRemoteLibSQLStore } from 'gorkflow/libsql'
  try {
    const store = await createRemoteLibSQLStore({ url: process.env.TURSO_DATABASE_URL, authToken: process.env.TURSO_AUTH_TOKEN })
    await store.close()
    console.log('open')
  } catch (err) {
    console.log(err.code)
  }`

/** Modules a Worker must not contain: native drivers, and Node built-ins the Worker would need `nodejs_compat` for. */
const NODE_ONLY = /better-sqlite3|better_sqlite3|\blibsql\.node\b|@libsql\/linux-|from\s*["']libsql["']|["']node:(fs|worker_threads|module|child_process)["']/

interface Outcome {
  readonly code: number
  readonly stdout: string
  /** stdout and stderr */
  readonly output: string
}

function run(command: string, args: readonly string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<Outcome> {
  return new Promise((done) => {
    execFile(command, args, { cwd, env: { ...process.env, ...env }, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0
      done({ code, stdout, output: `${stdout}${stderr}` })
    })
  })
}

async function succeed(command: string, args: readonly string[], cwd: string, env?: NodeJS.ProcessEnv): Promise<string> {
  const { code, stdout, output } = await run(command, args, cwd, env)
  if (code !== 0) throw new Error(`${command} ${args.join(' ')} exited with ${code}:\n${output}`)
  return stdout
}

let dir: string
let project: string

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'gorkflow-package-'))
  project = join(dir, 'my-workflows')
  await succeed('npm', ['pack', '--pack-destination', dir], ROOT)
  const tarballs = readdirSync(dir).filter((name) => name.endsWith('.tgz'))
  expect(tarballs).toHaveLength(1)
  const tarball = join(dir, tarballs[0]!)
  for (const [path, content] of Object.entries(CONSUMER_FILES)) {
    mkdirSync(dirname(join(project, path)), { recursive: true })
    writeFileSync(join(project, path), content)
  }
  await succeed('npm', ['install', tarball, `zod@${ZOD_VERSION}`, '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts'], project)
  // The file store's native driver is an optional peer dependency that a Node user installs next to the package.
  // Installing it here would compile it (~2 min, scripts are off); the repository's built copy is the same version.
  symlinkSync(join(ROOT, 'node_modules', 'better-sqlite3'), join(project, 'node_modules', 'better-sqlite3'), 'dir')
}, 300_000)

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true })
})

describe('the installed package', { timeout: 120_000 }, () => {
  it('holds the built entries, the declarations and the migrations, and no TypeScript source', () => {
    const installed = join(project, 'node_modules', 'gorkflow')
    const manifest = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')) as {
      exports: Record<string, { types: string; default: string } | string>
    }
    for (const target of Object.values(manifest.exports)) {
      const paths = typeof target === 'string' ? [target] : [target.types, target.default]
      for (const path of paths) expect(existsSync(join(installed, path)), path).toBe(true)
    }
    expect(existsSync(join(installed, 'migrations', 'meta', '_journal.json'))).toBe(true)
    expect(existsSync(join(installed, 'src'))).toBe(false)
  })

  it('imports every entry in Node, and the entries share one copy of each class', async () => {
    const script = `
      const names = ${JSON.stringify(ENTRY_EXPORTS)}
      const found = {}
      for (const entry of Object.keys(names)) found[entry] = Object.keys(await import(entry))
      const http = await import('gorkflow/libsql'), file = await import('gorkflow/libsql/node')
      console.log(JSON.stringify({ found, shared: http.LibSQLStore === file.LibSQLStore }))`
    const result = JSON.parse(await succeed(process.execPath, ['--input-type=module', '-e', script], project)) as {
      found: Record<string, string[]>
      shared: boolean
    }
    for (const [entry, names] of Object.entries(ENTRY_EXPORTS)) expect(result.found[entry]).toEqual(expect.arrayContaining([...names]))
    expect(result.shared).toBe(true)
  })

  it('type-checks a workflow written the README way, with Node and with bundler resolution', async () => {
    expect(await run(join(BIN, 'tsc'), ['-p', 'tsconfig.json', '--noEmit'], project)).toMatchObject({ code: 0, output: '' })
    expect(await run(join(BIN, 'tsc'), ['-p', 'tsconfig.bundler.json'], project)).toMatchObject({ code: 0, output: '' })
  })

  it('refuses a wrong chain at compile time', async () => {
    const { code, output } = await run(join(BIN, 'tsc'), ['-p', 'tsconfig.wrong.json'], project)
    expect(code).not.toBe(0)
    // Both links of the swapped chain are refused: `double` needs { sum }, `add` cannot take a number.
    expect(output).toMatch(/wrong-chain\.ts\(\d+,\d+\): error TS2345: Argument of type 'Step<\{ sum: number; \}, number, "double">'/)
    expect(output).toMatch(/wrong-chain\.ts\(\d+,\d+\): error TS2345: Argument of type 'Step<\{ a: number; b: number; \}, \{ sum: number; \}, "add">'/)
  })

  it('runs the workflow to COMPLETED on Node with a file store that migrates itself from the package', async () => {
    await succeed(join(BIN, 'tsc'), ['-p', 'tsconfig.json'], project)
    const result = JSON.parse(await succeed(process.execPath, [join('build', 'run.js')], project)) as Record<string, unknown>
    expect(result).toEqual({
      status: 'COMPLETED',
      output: 10,
      storedStatus: 'COMPLETED',
      steps: [
        ['add', 'COMPLETED'],
        ['double', 'COMPLETED'],
      ],
      migrationsFolder: join(project, 'node_modules', 'gorkflow', 'migrations'),
    })
    expect(existsSync(join(project, 'data', 'gorkflow.db'))).toBe(true)
  })

  it('migrates a remote database with gorkflow-migrate, which the HTTP store then accepts', async () => {
    const token = 'package-test-token'
    const endpoint = await startTestServer({ migrated: false, token })
    try {
      const env = { TURSO_DATABASE_URL: endpoint.server.url, TURSO_AUTH_TOKEN: token }
      const open = ['--input-type=module', '-e', OPEN_REMOTE]
      expect((await succeed(process.execPath, open, project, env)).trim()).toBe('SCHEMA_OUT_OF_DATE')
      const bin = join(project, 'node_modules', '.bin', 'gorkflow-migrate')
      expect((await succeed(bin, [], project, env)).trim()).toBe(`migrated ${endpoint.server.url}`)
      expect((await succeed(process.execPath, open, project, env)).trim()).toBe('open')
      // Idempotent: a second run finds nothing to apply.
      expect(await run(bin, [], project, env)).toMatchObject({ code: 0 })
    } finally {
      await endpoint.stop()
    }
  })

  it('builds a Worker from createWorker with wrangler deploy --dry-run, without Node-only modules', async () => {
    const home = join(dir, 'xdg')
    const { code, output } = await run(join(BIN, 'wrangler'), ['deploy', '--dry-run', '--outdir', 'out'], project, {
      WRANGLER_SEND_METRICS: 'false',
      CI: 'true',
      CLOUDFLARE_CF_FETCH_ENABLED: 'false',
      WRANGLER_HIDE_BANNER: 'true',
      XDG_CONFIG_HOME: home,
      WRANGLER_LOG_PATH: join(home, 'logs'),
    })
    expect({ code, output }).toMatchObject({ code: 0, output: expect.stringContaining('--dry-run: exiting now.') })
    // The runs' Durable Object class, exported as the README shows, is what the binding names.
    expect(output).toContain('env.RUN_ALARMS (RunAlarm)')
    const bundle = readFileSync(join(project, 'out', 'worker.js'), 'utf8')
    expect(bundle).toContain('"math"')
    expect(bundle).toContain('node_modules/gorkflow/dist/')
    expect(bundle).not.toMatch(NODE_ONLY)
    // Nor this repository's example workflows: `gorkflow/worker` is `createWorker` alone.
    expect(bundle).not.toMatch(/id: "(sequential|parallel|approval)"/)
  })
})
