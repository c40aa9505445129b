/**
 * @module
 * `bench/worker.ts` under wrangler's own dev server (`unstable_startWorker`: the same bundling, Miniflare and
 * workerd as `wrangler dev`) with the devtools inspector off, which the CLI cannot do. With the inspector on,
 * wrangler attaches to it for logs and network events, and every outbound `fetch` of the Worker — each store
 * call over HTTP — costs ~2.5 ms more. The benchmark runs this beside `wrangler dev` to show that share.
 *
 * Run by `bench/targets/wrangler-process.ts`: `tsx bench/start-worker.ts '<json>'`, with `{ config?, entry?, port,
 * persistTo, vars }` (config and entry relative to the repository; by default its wrangler.toml and that
 * config's `main`); prints `ready` once listening, stops on SIGTERM.
 */
import { fileURLToPath } from 'node:url'
import { unstable_startWorker } from 'wrangler'

interface Args {
  readonly config?: string
  readonly entry?: string
  readonly port: number
  readonly persistTo: string
  readonly vars: Readonly<Record<string, string>>
}

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const args = JSON.parse(process.argv[2] ?? '{}') as Args

const worker = await unstable_startWorker({
  config: `${ROOT}${args.config ?? 'wrangler.toml'}`,
  ...(args.entry === undefined ? {} : { entrypoint: `${ROOT}${args.entry}` }),
  bindings: Object.fromEntries(
    Object.entries(args.vars).map(([name, value]) => [name, { type: 'plain_text' as const, value }]),
  ),
  dev: {
    server: { hostname: '127.0.0.1', port: args.port },
    inspector: false,
    persist: args.persistTo,
    logLevel: 'warn',
  },
})
await worker.ready
process.stdout.write('ready\n')
process.once('SIGTERM', () => {
  void worker.dispose().finally(() => process.exit(0))
})
