#!/usr/bin/env node
/**
 * @module
 * `gorkflow-migrate [--url URL] [--auth-token TOKEN]`, the installed package's command: applies the package's
 * migrations to a libSQL database (Turso, sqld, a `file:`) and exits; idempotent. The URL and token default to
 * TURSO_DATABASE_URL and TURSO_AUTH_TOKEN. Node only. A remote database must be migrated before a Worker serves
 * from it (the Worker refuses with SCHEMA_OUT_OF_DATE); a `file:` database also migrates itself on open.
 */
import { parseArgs } from 'node:util'
import { createClient } from '@libsql/client'
import { drizzle } from 'drizzle-orm/libsql/node'
import { migrate } from 'drizzle-orm/libsql/migrator'
import { findMigrationsFolder } from '../store/libsql/migrations-folder'

const USAGE = 'usage: gorkflow-migrate [--url URL] [--auth-token TOKEN]   (defaults: TURSO_DATABASE_URL, TURSO_AUTH_TOKEN)'

async function main(): Promise<number> {
  let values: { url?: string; 'auth-token'?: string; help?: boolean }
  try {
    ;({ values } = parseArgs({
      options: { url: { type: 'string' }, 'auth-token': { type: 'string' }, help: { type: 'boolean', short: 'h' } },
      strict: true,
    }))
  } catch (err) {
    console.error(`${err instanceof Error ? err.message : String(err)}\n${USAGE}`)
    return 2
  }
  if (values.help) {
    console.log(USAGE)
    return 0
  }
  const url = values.url ?? process.env.TURSO_DATABASE_URL?.trim()
  if (!url) {
    console.error(`no database: pass --url or set TURSO_DATABASE_URL\n${USAGE}`)
    return 2
  }
  const authToken = values['auth-token'] ?? (process.env.TURSO_AUTH_TOKEN?.trim() || undefined)
  const client = createClient({ url, ...(authToken === undefined ? {} : { authToken }) })
  try {
    await migrate(drizzle(client), { migrationsFolder: findMigrationsFolder(import.meta.url) })
  } finally {
    client.close()
  }
  // The URL without credentials: a token may sit in its query string or user part.
  console.log(`migrated ${url.replace(/[?#].*$/, '').replace(/\/\/[^/@]*@/, '//')}`)
  return 0
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`gorkflow-migrate: ${err instanceof Error ? err.message : String(err)}`)
    process.exit(1)
  },
)
