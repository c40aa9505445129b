/**
 * @module
 * Who may send SQL to the endpoint: only a local program that knows its bearer token. Anything that looks like
 * a browser is refused, token or not, so that a web page cannot use the browser as a proxy into the database
 * (cross-site requests, DNS rebinding).
 */
import { timingSafeEqual } from 'node:crypto'
import type { IncomingHttpHeaders } from 'node:http'

/** Why a request is refused, as the endpoint answers it. */
export interface Refusal {
  readonly status: 401 | 403
  readonly message: string
  readonly code: 'UNAUTHORIZED' | 'FORBIDDEN'
}

export interface RequestGuardOptions {
  /** The bearer token every request but `GET /health` must carry. */
  readonly token: string
  /** The `Host` header a request must carry: the address and port the endpoint listens on (`127.0.0.1:8080`). */
  readonly host: string
}

/**
 * Browser request headers. Not `Sec-Fetch-Mode`: Node's own `fetch` (undici), which `@libsql/client` uses,
 * sends `sec-fetch-mode: cors`; browsers send `Sec-Fetch-Site` with every request.
 */
const BROWSER_HEADERS = ['origin', 'sec-fetch-site', 'sec-fetch-dest', 'sec-fetch-user'] as const

/** Builds the check; `null` from it means the request may proceed. */
export function requestGuard(options: RequestGuardOptions): (headers: IncomingHttpHeaders) => Refusal | null {
  if (options.token === '') throw new Error('the endpoint token must not be empty')
  const expected = Buffer.from(`Bearer ${options.token}`)
  const host = options.host.toLowerCase()
  return function guard(headers) {
    if (BROWSER_HEADERS.some((name) => headers[name] !== undefined)) {
      return { status: 403, message: 'browser requests are refused', code: 'FORBIDDEN' }
    }
    if (headers.host?.toLowerCase() !== host) {
      return { status: 403, message: `the Host header must be ${options.host}`, code: 'FORBIDDEN' }
    }
    if (!tokenMatches(headers.authorization, expected)) {
      return { status: 401, message: 'missing or wrong bearer token', code: 'UNAUTHORIZED' }
    }
    return null
  }
}

/** Constant-time comparison; only the length can leak, and the token's length is no secret. */
function tokenMatches(header: string | undefined, expected: Buffer): boolean {
  if (header === undefined) return false
  const given = Buffer.from(header)
  return given.length === expected.length && timingSafeEqual(given, expected)
}
