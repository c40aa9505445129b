/**
 * @module
 * The embedded LibSQL engine on a file in a temp folder, as `npm start` runs it: WAL journal and the store's
 * default `synchronous` setting (see `createLibSQLStore`).
 */
import { pathToFileURL } from 'node:url'
import { createLibSQLStore } from '../../src/store/libsql/create-libsql-store'
import { engineSession } from './engine-session'
import { DEFAULT_BUDGET, type Target } from './target'
import { tempDir } from './temp-dir'

export const libsqlFileTarget: Target = {
  id: 'libsql-file',
  title: 'LibSQL file (WAL)',
  workloads: ['W1', 'W2', 'W3', 'W4', 'W5'],
  budget: DEFAULT_BUDGET,
  async open() {
    const dir = tempDir()
    const store = await createLibSQLStore({ url: pathToFileURL(dir.file('bench.db')).href })
    return engineSession({ store, close: async () => dir.remove() })
  },
}
