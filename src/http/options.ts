/** @module Options of {@link createApp} and their defaults. */
import type { Context } from 'hono'
import type { Engine } from '../core/engine'
import type { UnhandledErrorReport } from './errors'
import type { OperatorMetrics } from './operator-metrics'

/** Default cap on request bodies. */
export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024
/** Default time a `?wait=true` start may spend executing before it answers 202 (Workers allow ~30 s). */
export const DEFAULT_WAIT_BUDGET_MS = 25_000

export interface AppOptions {
  readonly engine: Engine
  /** Accepted bearer tokens; none means every `/v1` request is refused (closed by default). */
  readonly apiTokens: readonly string[]
  /** Largest accepted request body, in bytes. @default 1 MiB */
  readonly maxBodyBytes?: number
  /**
   * Keeps a run's execution going after the response (Workers: `c.executionCtx.waitUntil`; Node: let it
   * run). The promise never rejects: the app catches and logs first.
   */
  readonly executeInBackground: (task: Promise<unknown>, c: Context) => void
  /**
   * Hands a stored run to the platform's scheduler instead of executing it after the response (Workers: its
   * Durable Object alarm, which gets minutes where `waitUntil` gets ~30 s). Async starts then store the run
   * unleased, and events, resumes and retries arm it. Resolves once armed. @default execute it here
   */
  readonly scheduleRun?: (runId: string) => Promise<void>
  /** Execution budget of `?wait=true` starts, in ms. @default 25_000 */
  readonly waitBudgetMs?: number
  /** Execution budget of background runs, in ms; what is left over is the sweeper's. @default engine's */
  readonly backgroundBudgetMs?: number
  /** Interval between two reads of a streamed run (`GET /v1/runs/:runId/stream`), in ms; at least 200. @default 1_000 */
  readonly streamPollMs?: number
  /** Lifetime of one stream connection, in ms; the client reconnects with `Last-Event-ID`. @default 25_000 */
  readonly streamMaxConnectionMs?: number
  /**
   * Completion webhooks are configured (a `WEBHOOK_SECRET`): starts may carry a `callbackUrl`, checked by the SSRF
   * guard, which lets private targets through only with `allowPrivate`. @default none: a `callbackUrl` is refused
   */
  readonly webhooks?: { readonly allowPrivate: boolean }
  /** Where unexpected failures are reported (never with request bodies). @default console.error */
  readonly logError?: (entry: UnhandledErrorReport) => void
  /** In-process counters `GET /v1/metrics` reports; other parts (webhooks) increment them. @default none (zeros) */
  readonly metrics?: OperatorMetrics
}

