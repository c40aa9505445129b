/**
 * The README's configuration table is the list of settings (src/runtime/env-keys.ts), rendered: a setting added to the
 * list and not to the README (or the reverse) fails here.
 */
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { ENV_KEY_NAMES } from '../../src/runtime/env-keys'
import { README, readmeTable, renderEnvTable } from '../../scripts/env-table'

describe('the configuration table', () => {
  it('has one row per setting, in the list order', () => {
    const names = renderEnvTable()
      .split('\n')
      .slice(2)
      .map((row) => /^\| `([A-Z_]+)`/.exec(row)?.[1])
    expect(names).toEqual(ENV_KEY_NAMES)
  })

  it('is in README.md as rendered (fix with `npx tsx scripts/env-table.ts --write`)', () => {
    const table = readmeTable(readFileSync(README, 'utf8'))
    expect(table, 'README.md lacks the env-keys markers').toBeDefined()
    expect(table).toBe(renderEnvTable())
  })
})
