/**
 * @module
 * Watches the files of an open SQLite database (the database, its `-wal` and its `-shm`) for faults SQLite does
 * not notice (README, "Hostile input"):
 *
 * - The database file deleted or replaced under a running process. SQLite keeps writing to the inode it opened,
 *   which nothing can reach any more: every run acknowledged after that is lost at the next start.
 * - A `-wal` or `-shm` deleted, replaced, made read-only, or a `-shm` truncated. SQLite maps the `-shm` into
 *   memory; once it is shorter than the mapping, the next access kills the process with SIGBUS, which no
 *   JavaScript handler can catch or log. Detecting the truncation first is a race this module can only try to
 *   win: it checks on every change the OS reports for the folder (inotify) and on a timer, and the caller logs.
 *
 * Only `stat` and `access` are used, never `open`: closing any descriptor of a SQLite file drops the POSIX locks
 * the process holds on it. A process running as root passes every `access` check, so read-only mode bits go
 * unnoticed there; a read-only file system does not.
 */
import { accessSync, constants, statSync, watch, type FSWatcher } from 'node:fs'
import { basename, dirname } from 'node:path'

/** A fault of one of the database's files; `reason` names no path, so it can be shown to anyone. */
export interface FileFault {
  /** e.g. `database file deleted or moved while open` */
  readonly reason: string
  /** The file concerned (for the log). */
  readonly path: string
}

export interface FileIdentityWatch {
  /** Checks the files now: the first fault found, or null. Reports each new fault to `onFault` once. */
  check(): FileFault | null
  /** Stops the timer and the folder watch. */
  stop(): void
}

export interface FileIdentityOptions {
  /** Called once per distinct fault, from `check()`, the timer or a folder event. */
  readonly onFault?: (fault: FileFault) => void
  /** Time between checks when the folder reports nothing, in ms; 0 checks only on events and calls. @default 1_000 */
  readonly intervalMs?: number
}

interface Identity {
  readonly dev: number
  readonly ino: number
  /** Largest size seen: SQLite grows a `-shm` while the database is open and never shrinks it. */
  size: number
}

const DEFAULT_INTERVAL_MS = 1_000
const COMPANIONS = ['-wal', '-shm'] as const

/**
 * Records the identity (device and inode) of the database file at `path` and of its `-wal` and `-shm` (once they
 * exist), then watches them. Call it right after the database is opened.
 * @throws Error when `path` cannot be stat'ed
 */
export function watchFileIdentity(path: string, options: FileIdentityOptions = {}): FileIdentityWatch {
  const database = identityOf(path)
  if (database === null) throw new Error(`database file ${path} does not exist`)
  const companions = new Map<string, Identity | null>(COMPANIONS.map((suffix) => [path + suffix, identityOf(path + suffix)]))
  const reported = new Set<string>()

  const findFault = (): FileFault | null => {
    const db = identityOf(path)
    if (db === null) return { reason: 'database file deleted or moved while open; writes since then are lost at restart', path }
    if (db.dev !== database.dev || db.ino !== database.ino) {
      return { reason: 'database file replaced by another file while open; writes since then are lost at restart', path }
    }
    const unwritable = writeProblem(path)
    if (unwritable !== null) return { reason: `database file ${unwritable}`, path }
    for (const [file, seen] of companions) {
      const name = file.endsWith('-wal') ? '-wal file' : '-shm file'
      const now = identityOf(file)
      if (seen === null) {
        companions.set(file, now) // SQLite creates them on first use
        continue
      }
      if (now === null) return { reason: `${name} deleted while the database is open`, path: file }
      if (now.dev !== seen.dev || now.ino !== seen.ino) return { reason: `${name} replaced while the database is open`, path: file }
      if (name === '-shm file' && now.size < seen.size) {
        return { reason: `-shm file truncated from ${seen.size} to ${now.size} bytes; its next use crashes the process (SIGBUS)`, path: file }
      }
      seen.size = Math.max(seen.size, now.size)
      const problem = writeProblem(file)
      if (problem !== null) return { reason: `${name} ${problem}`, path: file }
    }
    return null
  }

  const check = (): FileFault | null => {
    const fault = findFault()
    if (fault !== null && !reported.has(fault.reason)) {
      reported.add(fault.reason)
      options.onFault?.(fault)
    }
    return fault
  }

  const intervalMs = options.intervalMs ?? DEFAULT_INTERVAL_MS
  const timer = intervalMs > 0 ? setInterval(check, intervalMs) : undefined
  timer?.unref()
  const name = basename(path)
  let watcher: FSWatcher | undefined
  try {
    watcher = watch(dirname(path), { persistent: false }, (_event, file) => {
      if (file === null || String(file).startsWith(name)) check()
    })
    watcher.on('error', () => watcher?.close())
  } catch {
    // No folder events on this file system: the timer still checks.
  }
  return {
    check,
    stop() {
      clearInterval(timer)
      watcher?.close()
    },
  }
}

function identityOf(path: string): Identity | null {
  try {
    const stats = statSync(path)
    return { dev: stats.dev, ino: stats.ino, size: stats.size }
  } catch {
    return null
  }
}

/** Why this process cannot write `path` (`not writable (EACCES)`), or null. */
function writeProblem(path: string): string | null {
  try {
    accessSync(path, constants.W_OK)
    return null
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    return code === 'ENOENT' ? null : `not writable (${code ?? 'unknown error'})`
  }
}
