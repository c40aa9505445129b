/**
 * drizzle-kit configuration: `npm run db:generate` writes SQL migrations from `drizzle/schema.ts` into
 * `migrations/`; `npm run db:migrate` applies them to `TURSO_DATABASE_URL` (with `TURSO_AUTH_TOKEN`), or to the
 * local file `./.data/gorkflow.db` when no URL is set. See docs/libsql.md.
 */
import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import { defineConfig } from 'drizzle-kit'

const url = process.env.TURSO_DATABASE_URL || 'file:./.data/gorkflow.db'
const authToken = process.env.TURSO_AUTH_TOKEN || undefined

// drizzle-kit cannot create a database file in a folder that does not exist yet (e.g. .data/ on a fresh clone).
const filePath = /^file:/i.test(url)
  ? url.replace(/^file:/i, '').replace(/\?.*$/, '').replace(/^\/\/(localhost)?(?=\/)/i, '')
  : ''
if (filePath !== '' && !filePath.startsWith(':memory:')) mkdirSync(dirname(filePath), { recursive: true })

export default defineConfig({
  dialect: 'turso',
  schema: './drizzle/schema.ts',
  out: './migrations',
  dbCredentials: authToken === undefined ? { url } : { url, authToken },
  strict: true,
  verbose: false,
})
