/**
 * @module
 * How the bench runs a measurement in a fresh Node process (one per target, so no target's leftovers skew
 * another's numbers): the parent spawns a bench module under tsx, the child prints its result as one prefixed JSON
 * line and exits.
 */
import { spawn } from 'node:child_process'
import { createRequire } from 'node:module'
import { fileURLToPath, pathToFileURL } from 'node:url'

const RESULT_PREFIX = 'BENCH_RESULT '

export type ChildOutcome<T> = { readonly ok: true; readonly result: T } | { readonly ok: false; readonly error: string }

/**
 * Runs `node --import tsx <module> ...args` and resolves with the result line it printed, or with its error output
 * when it exits otherwise. `timeoutMs` kills a child that hangs.
 */
export function runInChild<T>(moduleUrl: string, args: readonly string[], timeoutMs: number): Promise<ChildOutcome<T>> {
  const tsx = createRequire(import.meta.url).resolve('tsx')
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', tsx, fileURLToPath(moduleUrl), ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4_000)))
    const timer = setTimeout(() => {
      stderr += `\nkilled after ${timeoutMs / 1000} s`
      child.kill('SIGKILL')
    }, timeoutMs)
    child.once('exit', (code) => {
      clearTimeout(timer)
      const line = stdout.split('\n').find((l) => l.startsWith(RESULT_PREFIX))
      resolve(
        code === 0 && line
          ? { ok: true, result: JSON.parse(line.slice(RESULT_PREFIX.length)) as T }
          : { ok: false, error: (stderr || stdout || `exit code ${code}`).trim() },
      )
    })
  })
}

/**
 * When the module at `moduleUrl` is the process's entry (the child side of {@link runInChild}): runs `task` with
 * the process's arguments, prints its result line and exits — at once, so handles a store or client left open
 * cannot hold the process (or its profile) back.
 */
export function runAsChild(moduleUrl: string, task: (args: readonly string[]) => Promise<unknown>): void {
  const invoked = process.argv[1]
  if (invoked === undefined || moduleUrl !== pathToFileURL(invoked).href) return
  task(process.argv.slice(2)).then(
    (result) => {
      console.log(RESULT_PREFIX + JSON.stringify(result))
      process.exit(0)
    },
    (err: unknown) => {
      console.error(err instanceof Error ? (err.stack ?? err.message) : String(err))
      process.exit(1)
    },
  )
}
