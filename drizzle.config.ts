/**
 * drizzle-kit configuration: `npm run db:generate` writes SQL migrations from `drizzle/schema.ts` into
 * `migrations/`; `npm run db:migrate` applies them to `TURSO_DATABASE_URL` (with `TURSO_AUTH_TOKEN`), or to the
 * local file `./.data/gorkflow.db` when no URL is set: the database `npm start` opens, read by the same code
 * (so the older `DATABASE_URL` works here too). See docs/libsql.md.
 */
import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import { defineConfig } from 'drizzle-kit'
import { readDatabase } from './src/runtime/env-config'
import { DEFAULT_DATABASE_URL } from './src/runtime/env-keys'

const { url, authToken } = readDatabase(process.env, 'node') ?? { url: DEFAULT_DATABASE_URL }

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
