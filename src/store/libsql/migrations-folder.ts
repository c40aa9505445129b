/**
 * @module
 * Where the package's `migrations/` folder is. Node only. The code that asks runs from `src/store/libsql/` in
 * this repository but from a bundle in `dist/` of the installed package, so a fixed relative path would be right
 * in only one of them: the folder is found by walking up from the calling module.
 */
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** drizzle-kit's journal: present in every migrations folder drizzle's migrator can read. */
const JOURNAL = join('meta', '_journal.json')

/**
 * The nearest `migrations/` folder holding a drizzle-kit journal, at or above the module at `moduleUrl`
 * (pass `import.meta.url`).
 * @throws Error naming the starting folder when there is none (a package installed without its migrations)
 */
export function findMigrationsFolder(moduleUrl: string): string {
  const start = dirname(fileURLToPath(moduleUrl))
  for (let dir = start; ; dir = dirname(dir)) {
    const candidate = join(dir, 'migrations')
    if (existsSync(join(candidate, JOURNAL))) return candidate
    if (dirname(dir) === dir) throw new Error(`no migrations/${JOURNAL} found above ${start}`)
  }
}
