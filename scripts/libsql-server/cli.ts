/**
 * @module
 * `npm run db:serve`: the local libSQL endpoint (`server.ts`) from the shell.
 *
 * Run: `npm run db:serve -- --db .data/gorkflow.db --port 8080 [--latency-ms 20] [--migrate]`. The token comes
 * from `LIBSQL_SERVER_TOKEN` (or `--token T`, visible to other local users in the process list); without one, a
 * random token is generated and printed once.
 */
import { resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { pathToFileURL } from 'node:url'
import { startLibsqlServer } from './server'

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      db: { type: 'string', default: '.data/gorkflow.db' },
      port: { type: 'string', default: '8080' },
      host: { type: 'string', default: '127.0.0.1' },
      token: { type: 'string' },
      'latency-ms': { type: 'string', default: '0' },
      'baton-timeout-ms': { type: 'string', default: '10000' },
      migrate: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  })
  if (values.help) {
    console.log(
      'usage: npm run db:serve -- [--db FILE] [--port N] [--host ADDR] [--token T] [--latency-ms N] ' +
        '[--baton-timeout-ms N] [--migrate]',
    )
    return
  }
  const dbPath = values.db
  if (values.migrate) {
    // Loaded only on request: the endpoint itself needs nothing but the engine.
    const { createLibSQLStore } = await import('../../src/store/libsql/create-libsql-store')
    const store = await createLibSQLStore({ url: `file:${resolve(dbPath)}` })
    await store.close()
  }
  const given = values.token ?? process.env.LIBSQL_SERVER_TOKEN
  const server = await startLibsqlServer({
    dbPath,
    port: parseNumber(values.port, 'port'),
    host: values.host,
    latencyMs: parseNumber(values['latency-ms'], 'latency-ms'),
    batonTimeoutMs: parseNumber(values['baton-timeout-ms'], 'baton-timeout-ms'),
    ...(given === undefined || given === '' ? {} : { token: given }),
  })
  console.log(`libsql endpoint for ${resolve(dbPath)} listening on ${server.url}`)
  // A generated token is printed once, to whoever started the endpoint: they are the one who needs it.
  const tokenText = given ? '<your token>' : server.token
  console.log(`  TURSO_DATABASE_URL=${server.url} TURSO_AUTH_TOKEN=${tokenText}`)
  const stop = (): void => {
    void server.close().then(() => process.exit(0))
  }
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
}

function parseNumber(text: string, name: string): number {
  const value = Number(text)
  if (!Number.isFinite(value) || value < 0) {
    console.error(`--${name} must be a non-negative number, got ${JSON.stringify(text)}`)
    process.exit(2)
  }
  return value
}

const invokedPath = process.argv[1]
if (invokedPath !== undefined && import.meta.url === pathToFileURL(resolve(invokedPath)).href) {
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : String(err))
    process.exit(1)
  })
}

