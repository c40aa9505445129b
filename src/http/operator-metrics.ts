/**
 * @module
 * In-process counters for `GET /v1/metrics`. Each process (or isolate) counts only what it did; the run counts
 * by status come from the store at scrape time. Other parts increment these through {@link AppOptions.metrics}
 * (completion webhooks call {@link OperatorMetrics.webhookFailed}).
 */

export class OperatorMetrics {
  #webhookFailures = 0

  /** One failed webhook delivery attempt. */
  webhookFailed(): void {
    this.#webhookFailures++
  }

  get webhookFailures(): number {
    return this.#webhookFailures
  }
}
