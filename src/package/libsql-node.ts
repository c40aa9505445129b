/**
 * @module
 * `gorkflow/libsql/node`: `createLibSQLStore`, the default store, for Node. `file:` URLs open an embedded
 * database through the native driver (an optional peer dependency, see the README's "Your own workflows") and
 * migrate it on open; remote URLs go over HTTP as in `gorkflow/libsql`. Never import this from a Worker.
 */
export {
  DEFAULT_MIGRATIONS_FOLDER,
  createLibSQLStore,
  migrateFile,
  type LibSQLStoreOptions,
} from '../store/libsql/create-libsql-store'
export { LibSQLStore } from '../store/libsql/libsql-store'
