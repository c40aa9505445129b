/**
 * @module
 * Checkpoints a WAL database from a worker thread. In WAL mode SQLite copies the log back into the database
 * (a checkpoint, with an fsync) inside whichever commit crosses `wal_autocheckpoint` pages; on the machines we
 * measured that was a quarter of a 10-step run's time (`npm run bench`). Done by a second connection in a thread
 * of its own, the copy overlaps the writer's work instead, and commits only append to the log. A PASSIVE
 * checkpoint never blocks a writer, and the next writer rewinds the log once a checkpoint has caught up. A writer
 * that never pauses can stay ahead of it, so the writer's connection keeps a (higher) threshold of its own.
 */
import { createRequire } from 'node:module'
import { Worker } from 'node:worker_threads'

export interface Checkpointer {
  /**
   * Stops checkpointing: the thread closes its connection and ends; settles when it has. A process that exits
   * before then may abort in the native engine's finalizers, so close (and await) before `process.exit()`.
   */
  stop(): Promise<void>
}

export interface CheckpointerOptions {
  readonly path: string
  readonly busyTimeoutMs: number
  /** Time between PASSIVE checkpoints, in ms. */
  readonly intervalMs: number
  /** Called once if the thread fails: the caller should checkpoint itself again. */
  readonly onFailure: (error: Error) => void
}

/** The thread's code: plain CommonJS, so it runs under any loader (tsx, vitest, plain Node). */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads')
const Database = require(workerData.driver)
const db = new Database(workerData.path, { timeout: workerData.busyTimeoutMs })
const checkpoint = db.prepare('PRAGMA wal_checkpoint(PASSIVE)')
const timer = setInterval(() => checkpoint.all([]), workerData.intervalMs)
parentPort.on('message', () => {
  clearInterval(timer)
  db.close()
  parentPort.close()
})
`

export function startCheckpointer(options: CheckpointerOptions): Checkpointer {
  // The same engine as the writer's connection (statement-cache.ts).
  const driver = createRequire(import.meta.url).resolve('better-sqlite3')
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    workerData: { driver, path: options.path, busyTimeoutMs: options.busyTimeoutMs, intervalMs: options.intervalMs },
  })
  // The thread never keeps the process alive: a process that is done exits without stopping it.
  worker.unref()
  let stopped = false
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()))
  const fail = (error: Error) => {
    if (stopped) return
    stopped = true
    options.onFailure(error)
  }
  worker.on('error', fail)
  worker.on('exit', (code) => fail(new Error(`checkpointer thread exited with code ${code}`)))
  return {
    stop() {
      if (!stopped) {
        stopped = true
        // Held open until the thread has ended: exiting under it while it is inside the native engine aborts.
        worker.ref()
        worker.postMessage('stop')
      }
      return exited
    },
  }
}
