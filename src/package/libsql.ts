/**
 * @module
 * `gorkflow/libsql`: the LibSQL store over HTTP (Turso, sqld, or `npm run db:serve`). Fetch only, no Node
 * module: safe in a Cloudflare Worker. Embedded `file:` databases are in `gorkflow/libsql/node`.
 */
export { LibSQLStore } from '../store/libsql/libsql-store'
export {
  LATEST_MIGRATION,
  MIGRATIONS_TABLE,
  createRemoteLibSQLStore,
  type RemoteLibSQLStoreOptions,
} from '../store/libsql/remote-libsql-store'
