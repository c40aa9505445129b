/** @module Process helpers for targets that start servers: peak memory, CPU time and descendants from Linux's /proc. */
import { readFileSync, readdirSync } from 'node:fs'

/** Peak resident set of a live process (`VmHWM`), in KiB; null where /proc is unavailable. */
export function peakRssKiB(pid: number): number | null {
  try {
    const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return match ? Number(match[1]) : null
  } catch {
    return null
  }
}

/** Clock ticks per second of /proc's CPU times (USER_HZ; 100 on Linux for x86 and arm64). */
const TICKS_PER_SECOND = 100

/** CPU time (user + system) a live process has used so far, in ms (10 ms resolution); null without /proc. */
export function cpuMs(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // Fields after the command: state ppid … utime (14th field overall) stime (15th).
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND
  } catch {
    return null
  }
}

/** Pids of the live descendants of `root` with their command names (Linux only; empty elsewhere). */
export function descendants(root: number): { pid: number; command: string }[] {
  let entries: string[]
  try {
    entries = readdirSync('/proc').filter((name) => /^\d+$/.test(name))
  } catch {
    return []
  }
  const parents = new Map<number, { ppid: number; command: string }>()
  for (const name of entries) {
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8')
      // pid (comm) state ppid …; comm may contain spaces and parentheses, so split at the last ')'.
      const close = stat.lastIndexOf(')')
      const command = stat.slice(stat.indexOf('(') + 1, close)
      const ppid = Number(stat.slice(close + 2).split(' ')[1])
      parents.set(Number(name), { ppid, command })
    } catch {
      // the process ended while we looked
    }
  }
  const found: { pid: number; command: string }[] = []
  const queue = [root]
  while (queue.length > 0) {
    const parent = queue.shift() as number
    for (const [pid, info] of parents) {
      if (info.ppid === parent) {
        found.push({ pid, command: info.command })
        queue.push(pid)
      }
    }
  }
  return found
}
