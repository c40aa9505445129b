/** @module What every dashboard page needs to render: where it is mounted, the CSRF token, the time. */

export interface PageContext {
  /** Mount path of the dashboard, without a trailing slash: `/ui`. */
  readonly base: string
  /** CSRF token of the signed-in session, for the forms on the page; null when signed out. */
  readonly csrf: string | null
  /** Render time, epoch ms: relative times are computed against it. */
  readonly now: number
}
