/**
 * @module
 * W1 end to end through the Node entry (`startNodeServer`, as `npm start` runs it) on a LibSQL file, server and
 * client in this process: the store is wrapped in the counting store, so calls per run are counted here too.
 * Logging at `warn`: at `info` the server writes a JSON line per step to the terminal, which measures the terminal.
 */
import { randomBytes } from 'node:crypto'
import { pathToFileURL } from 'node:url'
import { jsonLogger } from '../../src/core/logger'
import { startNodeServer } from '../../src/node'
import { createLibSQLStore } from '../../src/store/libsql/create-libsql-store'
import { countingStore } from '../../test/support/counting-store'
import { benchWorkflows } from '../workloads'
import { httpSession } from './http-session'
import { DEFAULT_BUDGET, type Target } from './target'
import { tempDir } from './temp-dir'

export const nodeServerTarget: Target = {
  id: 'node-server',
  title: 'Node server, LibSQL file',
  workloads: ['W1', 'W2', 'W3'],
  budget: DEFAULT_BUDGET,
  async open() {
    const dir = tempDir()
    const counting = countingStore(await createLibSQLStore({ url: pathToFileURL(dir.file('bench.db')).href }))
    const token = randomBytes(24).toString('base64url')
    const server = await startNodeServer({
      port: 0,
      apiTokens: [token],
      store: counting.store,
      workflows: benchWorkflows().all,
      sweepIntervalMs: 0,
      logger: jsonLogger('warn'),
    })
    return httpSession({
      url: server.url,
      token,
      storeCalls: () => counting.total(),
      peakRssKiB: async () => process.resourceUsage().maxRSS,
      close: async () => {
        await server.close()
        await counting.store.close()
        dir.remove()
      },
    })
  },
}
