/**
 * @module
 * The README's configuration table, rendered from the list of settings (`src/runtime/env-keys.ts`).
 * `npx tsx scripts/env-table.ts --write` rewrites it in README.md; test/scripts/env-table.test.ts fails while
 * the README and the list disagree.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { ENV_KEYS, ENV_KEY_NAMES, type EnvKey } from '../src/runtime/env-keys'

export const README = join(resolve(dirname(fileURLToPath(import.meta.url)), '..'), 'README.md')
export const TABLE_BEGIN = '<!-- env-keys:begin (generated from src/runtime/env-keys.ts by scripts/env-table.ts) -->'
export const TABLE_END = '<!-- env-keys:end -->'

/** The markdown table of every setting, in the list's order. */
export function renderEnvTable(): string {
  const rows = ENV_KEY_NAMES.map((name) => {
    const key: EnvKey = ENV_KEYS[name]
    const names = [`\`${name}\``, ...(key.nodeAliases ?? []).map((alias) => `Node also: \`${alias}\``)].join('<br>')
    const where = `${{ both: 'both', node: 'Node', worker: 'Worker' }[key.entries]}${key.secret ? ', secret' : ''}`
    return `| ${names} | ${where} | ${key.default} | ${key.description} |`
  })
  return ['| name | read by | default | meaning |', '|---|---|---|---|', ...rows].join('\n')
}

/** The table as README.md holds it between the markers, or undefined without them. */
export function readmeTable(readme: string): string | undefined {
  const begin = readme.indexOf(TABLE_BEGIN)
  const end = readme.indexOf(TABLE_END)
  if (begin < 0 || end < begin) return undefined
  return readme.slice(begin + TABLE_BEGIN.length, end).trim()
}

function write(): void {
  const readme = readFileSync(README, 'utf8')
  const begin = readme.indexOf(TABLE_BEGIN)
  const end = readme.indexOf(TABLE_END)
  if (begin < 0 || end < begin) throw new Error(`README.md has no ${TABLE_BEGIN} … ${TABLE_END} section`)
  writeFileSync(README, `${readme.slice(0, begin + TABLE_BEGIN.length)}\n${renderEnvTable()}\n${readme.slice(end)}`)
}

const invoked = process.argv[1]
if (invoked !== undefined && import.meta.url === pathToFileURL(resolve(invoked)).href) {
  if (process.argv.includes('--write')) write()
  else console.log(renderEnvTable())
}
