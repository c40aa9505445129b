/**
 * @module
 * Reading an entry's configuration (Worker bindings or `process.env`) by the names of `env-keys.ts`: every
 * value checked once, with errors that name the variable. Kept out of `worker.ts` because workerd treats every
 * export of the Worker's main module as an entrypoint and refuses anything that is not a handler.
 */
import { parseLogLevel, type LogLevel } from '../core/logger'
import { ENV_KEYS, DEFAULT_DATABASE_URL, type EnvKey, type EnvKeyName } from './env-keys'
import { parseApiTokens } from '../http/auth'

/** A refusal to start because a binding or variable is missing or invalid. */
export class ConfigurationError extends Error {
  override name = 'ConfigurationError'
}

/** One day in ms: RETENTION_DAYS × this is the engine's `retentionMs`. */
export const DAY_MS = 86_400_000

/** Worker bindings (an object with declared fields) or `process.env`. */
type Env = object

/** Which entry reads: only Node accepts the older names of a setting (`nodeAliases`) and has a default database. */
export type EntryKind = 'worker' | 'node'

export const STORE_KINDS = ['libsql', 'dynamodb', 'memory'] as const
export type StoreKindSetting = (typeof STORE_KINDS)[number]

/** Where the libSQL store is. */
export interface DatabaseSettings {
  readonly url: string
  readonly authToken?: string
}

export interface WebhookSettings {
  readonly secret: string
  readonly allowPrivate: boolean
}

/** What both entries read from their environment, checked. Unset knobs are left out (their defaults apply). */
export interface EntrySettings {
  readonly store: StoreKindSetting
  readonly apiTokens: readonly string[]
  readonly uiSessionSecret?: string
  /** Completion webhooks, when WEBHOOK_SECRET is set. */
  readonly webhooks?: WebhookSettings
  /** Unset only on the Worker, where the libSQL store then refuses to start naming TURSO_DATABASE_URL. */
  readonly database?: DatabaseSettings
  readonly logLevel: LogLevel
  readonly leaseMs?: number
  readonly retentionMs?: number
  readonly maxBodyBytes?: number
  readonly waitBudgetMs?: number
}

/**
 * A setting's trimmed value, or undefined when unset or blank. On Node an older name (`nodeAliases`) is read
 * when the current one is unset.
 * @throws ConfigurationError when the current name and an older one are both set, to different values
 */
export function readString(env: Env, name: EnvKeyName, entry: EntryKind = 'worker'): string | undefined {
  const value = rawString(env, name)
  const spec: EnvKey = ENV_KEYS[name]
  if (entry !== 'node' || spec.nodeAliases === undefined) return value
  for (const alias of spec.nodeAliases) {
    const older = rawString(env, alias)
    if (older === undefined) continue
    // Values are not quoted: these are secrets.
    if (value !== undefined && value !== older) {
      throw new ConfigurationError(`${name} and ${alias} (its older name) are both set, to different values: unset ${alias}`)
    }
    return older
  }
  return value
}

function rawString(env: Env, name: string): string | undefined {
  const binding = (env as Record<string, unknown>)[name]
  const value = typeof binding === 'string' ? binding.trim() : ''
  return value === '' ? undefined : value
}

/** A non-negative integer variable, or undefined when unset. @throws ConfigurationError */
export function readInteger(env: Env, name: EnvKeyName): number | undefined {
  const raw = rawString(env, name)
  if (raw === undefined) return undefined
  const value = Number(raw)
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new ConfigurationError(`${name} must be a non-negative integer, got ${JSON.stringify(raw)}`)
  }
  return value
}

/** `RETENTION_DAYS` as the engine's `retentionMs`, or undefined (keep forever) when unset. @throws ConfigurationError */
export function readRetentionMs(env: Env): number | undefined {
  const days = readInteger(env, 'RETENTION_DAYS')
  if (days === undefined) return undefined
  const ms = days * DAY_MS
  if (!Number.isSafeInteger(ms)) throw new ConfigurationError(`RETENTION_DAYS is too large, got ${days}`)
  return ms
}

/**
 * TURSO_DATABASE_URL and TURSO_AUTH_TOKEN (on Node also their older names, and `file:./.data/gorkflow.db` when
 * unset); undefined on the Worker when no URL is set.
 * @throws ConfigurationError when an older name contradicts the current one
 */
export function readDatabase(env: Env, entry: EntryKind): DatabaseSettings | undefined {
  const url = readString(env, 'TURSO_DATABASE_URL', entry) ?? (entry === 'node' ? DEFAULT_DATABASE_URL : undefined)
  const authToken = readString(env, 'TURSO_AUTH_TOKEN', entry)
  return url === undefined ? undefined : { url, ...(authToken === undefined ? {} : { authToken }) }
}

/**
 * Everything both entries read, checked before anything is opened, so a bad value is reported without a
 * database round trip.
 * @throws ConfigurationError naming the variable
 */
export function readSettings(env: Env, entry: EntryKind): EntrySettings {
  const knobs = {
    leaseMs: readInteger(env, 'LEASE_MS'),
    retentionMs: readRetentionMs(env),
    maxBodyBytes: readInteger(env, 'MAX_BODY_BYTES'),
    waitBudgetMs: readInteger(env, 'WAIT_BUDGET_MS'),
  }
  const store = (readString(env, 'STORE') ?? 'libsql').toLowerCase()
  if (!(STORE_KINDS as readonly string[]).includes(store)) {
    throw new ConfigurationError(`STORE must be libsql, dynamodb or memory, got ${JSON.stringify(rawString(env, 'STORE'))}`)
  }
  const database = readDatabase(env, entry)
  const uiSessionSecret = readString(env, 'UI_SESSION_SECRET')
  const webhooks = readWebhooks(env)
  return {
    store: store as StoreKindSetting,
    apiTokens: parseApiTokens(readString(env, 'API_TOKEN')),
    logLevel: parseLogLevel(readString(env, 'LOG_LEVEL'), 'info'),
    ...(database === undefined ? {} : { database }),
    ...(uiSessionSecret === undefined ? {} : { uiSessionSecret }),
    ...(webhooks === undefined ? {} : { webhooks }),
    ...Object.fromEntries(Object.entries(knobs).filter(([, value]) => value !== undefined)),
  }
}

/**
 * WEBHOOK_SECRET and WEBHOOK_ALLOW_PRIVATE, checked.
 * @throws ConfigurationError for a secret that is not `whsec_` and base64 of at least 24 bytes, or a flag not 0/1
 */
export function readWebhooks(env: Env): WebhookSettings | undefined {
  const secret = readString(env, 'WEBHOOK_SECRET')
  const flag = readString(env, 'WEBHOOK_ALLOW_PRIVATE') ?? '0'
  if (flag !== '0' && flag !== '1') throw new ConfigurationError(`WEBHOOK_ALLOW_PRIVATE must be 0 or 1, got ${JSON.stringify(flag)}`)
  if (secret === undefined) return undefined
  const encoded = secret.startsWith('whsec_') ? secret.slice('whsec_'.length) : secret
  // Values are not quoted: this is a secret.
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(encoded) || encoded.length < 32) {
    throw new ConfigurationError('WEBHOOK_SECRET must be whsec_ followed by base64 of at least 24 bytes')
  }
  return { secret, allowPrivate: flag === '1' }
}
