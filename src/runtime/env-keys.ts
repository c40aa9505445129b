/**
 * @module
 * Every setting the entries read from the environment (Worker bindings, `process.env` on Node), in one list.
 * The Worker's env type, the Node entry's reading, the Worker's configuration fingerprint and the README's
 * configuration table all derive from it, so a setting cannot be added to one and forgotten in another.
 */
import { DEFAULT_SHUTDOWN_GRACE_MS } from '../core/engine'
import { DEFAULT_MAX_BODY_BYTES, DEFAULT_WAIT_BUDGET_MS } from '../http/options'

/** Where a Node entry finds its database when neither TURSO_DATABASE_URL nor its alias is set. */
export const DEFAULT_DATABASE_URL = 'file:./.data/gorkflow.db'
/** How often the Node entry's sweeper looks for due runs, in ms. */
export const DEFAULT_SWEEP_INTERVAL_MS = 5_000
/** Execution budget of one run alarm; the rest of the 15 minutes is for the step still running when it is spent. */
export const DEFAULT_BACKGROUND_BUDGET_MS = 300_000

export interface EnvKey {
  /** Who reads it: `both` the Worker and Node, `node` or `worker` only that one. The Worker's shape its runtime. */
  readonly entries: 'both' | 'node' | 'worker'
  /** Set with `wrangler secret put` on Workers; never logged, and hashed in the configuration fingerprint. */
  readonly secret: boolean
  /** What applies when it is unset, as the README shows it. */
  readonly default: string
  readonly description: string
  /** Older names Node still accepts for it; the README lists them. */
  readonly nodeAliases?: readonly string[]
}

/** The settings, in the README's order. */
export const ENV_KEYS = {
  API_TOKEN: {
    entries: 'both',
    secret: true,
    default: '— (API closed)',
    description: 'comma-separated bearer tokens (several while rotating); without one every `/v1` request is refused',
  },
  STORE: {
    entries: 'both',
    secret: false,
    default: '`libsql`',
    description: '`libsql`, `dynamodb` (on Workers: the DynamoDB build) or `memory` (per isolate or process: for trying things out)',
  },
  TURSO_DATABASE_URL: {
    entries: 'both',
    secret: true,
    default: `Node: \`${DEFAULT_DATABASE_URL}\`; Worker: — (503 \`MISCONFIGURED\`)`,
    description:
      'the libSQL database: `libsql://<db>.turso.io` or `http://…` (remote, over HTTP, migrated by `npm run db:migrate`); ' +
      'on Node also `file:` (embedded, migrated on open)',
    nodeAliases: ['DATABASE_URL'],
  },
  TURSO_AUTH_TOKEN: {
    entries: 'both',
    secret: true,
    default: '—',
    description: 'token of a remote database',
    nodeAliases: ['DATABASE_AUTH_TOKEN'],
  },
  DYNAMODB_TABLE: {
    entries: 'both',
    secret: false,
    default: '—',
    description: '`STORE=dynamodb`: the table made by `npm run dynamodb:create-table`',
  },
  AWS_REGION: {
    entries: 'both',
    secret: false,
    default: '—',
    description: '`STORE=dynamodb`: the table\'s region',
  },
  AWS_ACCESS_KEY_ID: {
    entries: 'both',
    secret: true,
    default: "Worker: required; Node: the SDK's default chain",
    description: '`STORE=dynamodb`: credentials',
  },
  AWS_SECRET_ACCESS_KEY: {
    entries: 'both',
    secret: true,
    default: "Worker: required; Node: the SDK's default chain",
    description: '`STORE=dynamodb`: credentials',
  },
  AWS_SESSION_TOKEN: {
    entries: 'both',
    secret: true,
    default: '—',
    description: '`STORE=dynamodb`: temporary credentials',
  },
  DYNAMODB_ENDPOINT: {
    entries: 'both',
    secret: false,
    default: 'AWS',
    description: '`STORE=dynamodb`: another endpoint, e.g. DynamoDB Local',
  },
  DYNAMODB_RETENTION_SECONDS: {
    entries: 'both',
    secret: false,
    default: 'keep forever',
    description: '`STORE=dynamodb`: finished runs expire through DynamoDB TTL after this many seconds',
  },
  UI_SESSION_SECRET: {
    entries: 'both',
    secret: true,
    default: 'derived from `API_TOKEN`',
    description: "key of the dashboard's session cookies",
  },
  WEBHOOK_SECRET: {
    entries: 'both',
    secret: true,
    default: '— (`callbackUrl` refused)',
    description:
      'signs completion webhooks per Standard Webhooks: `whsec_` + base64 of 24–64 random bytes (`echo whsec_$(openssl rand -base64 32)`)',
  },
  WEBHOOK_ALLOW_PRIVATE: {
    entries: 'both',
    secret: false,
    default: '`0`',
    description: '`1` lets `callbackUrl` target loopback, private and link-local addresses (tests, private networks)',
  },
  LOG_LEVEL: {
    entries: 'both',
    secret: false,
    default: '`info`',
    description: '`debug`, `info`, `warn`, `error` or `silent`; one JSON line per event on the console',
  },
  LEASE_MS: {
    entries: 'both',
    secret: false,
    default: '`30000`',
    description: 'how long a run stays claimed without a commit',
  },
  RETENTION_DAYS: {
    entries: 'both',
    secret: false,
    default: 'keep forever',
    description:
      'the sweeper deletes terminal runs finished more than this many days ago, with their steps, state and events; ' +
      '`0` deletes them at the next sweep',
  },
  MAX_BODY_BYTES: {
    entries: 'both',
    secret: false,
    default: `\`${DEFAULT_MAX_BODY_BYTES}\``,
    description: 'request body limit (413 above it)',
  },
  WAIT_BUDGET_MS: {
    entries: 'both',
    secret: false,
    default: `\`${DEFAULT_WAIT_BUDGET_MS}\``,
    description: 'execution time of a `?wait=true` start before it answers 202',
  },
  PORT: {
    entries: 'node',
    secret: false,
    default: '`3000`',
    description: 'port to listen on (`0` picks a free one)',
  },
  HOST: {
    entries: 'node',
    secret: false,
    default: '`127.0.0.1`',
    description: 'address to listen on',
  },
  SWEEP_INTERVAL_MS: {
    entries: 'node',
    secret: false,
    default: `\`${DEFAULT_SWEEP_INTERVAL_MS}\``,
    description: "sweeper period (`0` turns it off); the Worker sweeps from wrangler.toml's `[triggers] crons`",
  },
  SHUTDOWN_GRACE_MS: {
    entries: 'node',
    secret: false,
    default: `\`${DEFAULT_SHUTDOWN_GRACE_MS}\``,
    description:
      'on SIGTERM/SIGINT, how long running steps may finish; then their `ctx.signal` aborts, they are recorded as ' +
      'interrupted (not failed), every lease is released and the process exits',
  },
  BACKGROUND_BUDGET_MS: {
    entries: 'worker',
    secret: false,
    default: `\`${DEFAULT_BACKGROUND_BUDGET_MS}\``,
    description: 'with `RUN_ALARMS` bound: how long one alarm executes a run before the next alarm continues it',
  },
  WAIT_UNTIL_LIMIT_MS: {
    entries: 'worker',
    secret: false,
    default: '— (not checked)',
    description:
      '`waitUntil` work still pending after this many ms is logged as `wait_until_overrun` (local workerd never cuts ' +
      '`waitUntil`; production does ~30 s after the response)',
  },
} as const satisfies Record<string, EnvKey>

/** The name of a setting. */
export type EnvKeyName = keyof typeof ENV_KEYS

/** The settings the Worker reads: every key whose `entries` is `both` or `worker`. */
export type WorkerKeyName = {
  [K in EnvKeyName]: (typeof ENV_KEYS)[K]['entries'] extends 'both' | 'worker' ? K : never
}[EnvKeyName]

/** Names of every setting, in the list's order. */
export const ENV_KEY_NAMES = Object.keys(ENV_KEYS) as EnvKeyName[]

/** Names of the settings the Worker reads, in the list's order. */
export const WORKER_KEY_NAMES = ENV_KEY_NAMES.filter((name): name is WorkerKeyName => ENV_KEYS[name].entries !== 'node')

/**
 * Bindings and secrets the Worker reads, one optional string per Worker setting of {@link ENV_KEYS}. Every other
 * binding reaches steps through `deps`.
 */
export type WorkerEnv = { readonly [K in WorkerKeyName]?: string }

/** The environment of a Node process, as the Node entry reads it. */
export type NodeEnv = Readonly<Record<string, string | undefined>>
