/**
 * @module
 * The embedded LibSQL engine on a file in a temp folder, as `npm start` runs it: WAL journal and the store's
 * default `synchronous` setting (see `createLibSQLStore`). In both durability modes (issue #18).
 */
import { pathToFileURL } from 'node:url'
import { createLibSQLStore } from '../../src/store/libsql/create-libsql-store'
import type { Durability } from '../../src/core/step-config'
import { engineSession } from './engine-session'
import { DEFAULT_BUDGET, type Target } from './target'
import { tempDir } from './temp-dir'

function fileTarget(durability: Durability): Target {
  const pipelined = durability === 'pipelined'
  return {
    id: `libsql-file${pipelined ? '-pipelined' : ''}`,
    title: `LibSQL file (WAL)${pipelined ? ', pipelined' : ''}`,
    // W4 and W5 have the default mode only.
    workloads: pipelined ? ['W1', 'W2', 'W3'] : ['W1', 'W2', 'W3', 'W4', 'W5'],
    budget: DEFAULT_BUDGET,
    async open() {
      const dir = tempDir()
      const store = await createLibSQLStore({ url: pathToFileURL(dir.file('bench.db')).href })
      return engineSession({ store, durability, close: async () => dir.remove() })
    },
  }
}

export const libsqlFileTarget = fileTarget('step')
export const libsqlFilePipelinedTarget = fileTarget('pipelined')
