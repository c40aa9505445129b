/**
 * @module
 * Bearer-token authentication for `/v1`. Closed by default: with no token configured every request is
 * refused with a message saying how to configure one.
 */
import type { MiddlewareHandler } from 'hono'
import { HttpError } from './errors'

const PREFIX = /^Bearer[ \t]+(\S+)[ \t]*$/i
const CHALLENGE = { 'WWW-Authenticate': 'Bearer realm="gorkflow"' } as const
const NOT_CONFIGURED_MESSAGE =
  'no API token is configured, so the API is closed: set API_TOKEN (comma-separated for rotation) with ' +
  '`wrangler secret put API_TOKEN` on Cloudflare, in .dev.vars for `wrangler dev` (`npm run dev` writes one), ' +
  'or in the environment for `npm start`'

/** Splits an `API_TOKEN` value (comma-separated, for rotation) into tokens, dropping blanks. */
export function parseApiTokens(value: string | undefined | null): string[] {
  if (!value) return []
  return value
    .split(',')
    .map((token) => token.trim())
    .filter((token) => token.length > 0)
}

async function sha256(text: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text)))
}

/**
 * Requires `Authorization: Bearer <token>` matching one of `tokens`. Both sides are hashed with SHA-256 and
 * the digests compared byte by byte without early exit, against every configured token, so the time taken
 * reveals neither a token's length nor its prefix nor which token matched.
 */
export function bearerAuth(tokens: readonly string[]): MiddlewareHandler {
  const configured = [...tokens]
  let digests: Promise<Uint8Array[]> | undefined
  return async function bearerAuth(c, next) {
    if (configured.length === 0) throw new HttpError('UNAUTHORIZED', NOT_CONFIGURED_MESSAGE, CHALLENGE)
    const presented = PREFIX.exec(c.req.header('Authorization') ?? '')?.[1]
    if (presented === undefined) {
      throw new HttpError('UNAUTHORIZED', 'missing bearer token: send `Authorization: Bearer <token>`', CHALLENGE)
    }
    digests ??= Promise.all(configured.map(sha256))
    const [expected, actual] = await Promise.all([digests, sha256(presented)])
    let matched = false
    for (const digest of expected) {
      let diff = 0
      for (let i = 0; i < digest.length; i++) diff |= (digest[i] ?? 0) ^ (actual[i] ?? 0)
      matched = matched || diff === 0
    }
    if (!matched) throw new HttpError('UNAUTHORIZED', 'invalid bearer token', CHALLENGE)
    await next()
  }
}
