/**
 * @module
 * Delivers completion webhooks (README, "Completion webhooks"): the sweeper calls {@link WebhookDeliveries.deliverDue},
 * which POSTs the view of each terminal run whose webhook is due, signed per Standard Webhooks. The state lives on the
 * run record, so a delivery survives restarts and is never sent by two sweepers at once: an attempt is claimed (its
 * count raised and its next time pushed past the request's timeout) in one conditional write before it is sent, and
 * its outcome recorded in another. A failure is retried with exponential backoff; after {@link MAX_WEBHOOK_ATTEMPTS}
 * the delivery is given up (`nextAttemptAt` null). Nothing here touches the run's status: a webhook never blocks or
 * fails a run.
 */
import type { RunRecord, WebhookDelivery } from '../core/model'
import type { WorkflowStore } from '../core/store'
import { unlessCode } from '../core/errors'
import type { Logger } from '../core/logger'
import { toRunView } from '../http/views'
import { signWebhook, webhookKey } from '../http/webhook-signature'
import { checkWebhookUrl } from '../http/webhook-target'

/** Attempts before a delivery is given up. */
export const MAX_WEBHOOK_ATTEMPTS = 8
/** Delay before the second attempt; each later one doubles it, up to {@link MAX_WEBHOOK_DELAY_MS}. */
export const DEFAULT_WEBHOOK_RETRY_MS = 30_000
const MAX_WEBHOOK_DELAY_MS = 3_600_000
/** How long one attempt may take before it counts as failed (status 0). */
const WEBHOOK_TIMEOUT_MS = 10_000
/** Deliveries per sweep. */
const WEBHOOK_BATCH = 25

export interface WebhookDeliveriesOptions {
  readonly store: WorkflowStore
  /** `whsec_…`: base64 of at least 24 random bytes. */
  readonly secret: string
  readonly allowPrivate: boolean
  readonly logger: Logger
  readonly retryMs?: number
  readonly now?: () => number
  readonly fetch?: typeof fetch
  /** Called for each failed attempt (the `/v1/metrics` counter). */
  readonly onFailure?: () => void
}

export interface DeliveryResult {
  readonly attempted: number
  readonly delivered: number
}

export class WebhookDeliveries {
  readonly #options: WebhookDeliveriesOptions
  readonly #key: Promise<CryptoKey>

  constructor(options: WebhookDeliveriesOptions) {
    this.#options = options
    this.#key = webhookKey(options.secret)
    // A bad secret is reported by the first delivery (and by the entries' configuration check), not as an unhandled rejection.
    this.#key.catch(() => undefined)
  }

  /** Sends every due delivery once (up to a batch); never throws for a receiver's failure. */
  async deliverDue(): Promise<DeliveryResult> {
    const { store } = this.#options
    if (!store.listDueWebhooks) return { attempted: 0, delivered: 0 }
    const ids = await store.listDueWebhooks(this.#now(), WEBHOOK_BATCH)
    let attempted = 0
    let delivered = 0
    for (const runId of ids) {
      // A run deleted since the listing (retention, an operator) has nothing left to deliver.
      const run = await store.getRun(runId).catch(unlessCode(['RUN_NOT_FOUND'], null))
      if (run === null) continue
      const outcome = await this.#attempt(run)
      if (outcome === null) continue
      attempted++
      if (outcome) delivered++
    }
    return { attempted, delivered }
  }

  /** One attempt: null when another sweeper claimed it first, else whether the receiver took it. */
  async #attempt(run: RunRecord): Promise<boolean | null> {
    const { store, logger } = this.#options
    const webhook = run.webhook
    if (webhook === null || webhook.deliveredAt !== null || !store.recordWebhookAttempt) return null
    // A listing from an eventually consistent index (DynamoDB's) may name a run whose attempt was just recorded:
    // the run, read strongly, is the judge of whether it is due.
    if (webhook.nextAttemptAt === null || webhook.nextAttemptAt > this.#now()) return null
    const attempts = webhook.attempts + 1
    const claimed: WebhookDelivery = { ...webhook, attempts, nextAttemptAt: this.#now() + WEBHOOK_TIMEOUT_MS + this.#retryDelay(attempts) }
    if (!(await store.recordWebhookAttempt(run.runId, webhook.attempts, claimed))) return null
    const status = await this.#send(run, webhook.url)
    const now = this.#now()
    const ok = status >= 200 && status < 300
    const next: WebhookDelivery = {
      ...claimed,
      lastStatus: status,
      deliveredAt: ok ? now : null,
      nextAttemptAt: ok || attempts >= MAX_WEBHOOK_ATTEMPTS ? null : now + this.#retryDelay(attempts),
    }
    await store.recordWebhookAttempt(run.runId, attempts, next)
    if (!ok) this.#options.onFailure?.()
    logger.log(ok ? 'info' : 'warn', ok ? 'webhook_delivered' : 'webhook_failed', {
      run_id: run.runId,
      attempt: attempts,
      status,
      ...(ok ? {} : { next_attempt_at: next.nextAttemptAt }),
    })
    return ok
  }

  /** The receiver's HTTP status, or 0 for no answer. Redirects are not followed: their target was never checked. */
  async #send(run: RunRecord, url: string): Promise<number> {
    try {
      checkWebhookUrl(url, { allowPrivate: this.#options.allowPrivate })
      const body = JSON.stringify({ type: 'run.finished', run: toRunView(run) })
      const headers = await signWebhook(await this.#key, `msg_${run.runId}`, this.#now(), body)
      const res = await (this.#options.fetch ?? fetch)(url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', ...headers },
        body,
        redirect: 'manual',
        signal: AbortSignal.timeout(WEBHOOK_TIMEOUT_MS),
      })
      await res.body?.cancel()
      return res.status
    } catch {
      return 0
    }
  }

  #retryDelay(attempts: number): number {
    return Math.min(MAX_WEBHOOK_DELAY_MS, (this.#options.retryMs ?? DEFAULT_WEBHOOK_RETRY_MS) * 2 ** (attempts - 1))
  }

  #now(): number {
    return (this.#options.now ?? Date.now)()
  }
}
