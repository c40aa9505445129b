/**
 * @module
 * Dashboard sessions: stateless, HMAC-signed cookies, built on `crypto.subtle` so they work the same on
 * Workers and Node.
 *
 * The cookie holds `expiry.nonce.tokenTag.signature` — never the token. `tokenTag` is a keyed hash of the API
 * token that signed in; a session is valid only while that token is still configured, so removing a token
 * from `API_TOKEN` ends its sessions. The signing key comes from `sessionSecret` when given, otherwise from
 * the tokens themselves, so rotating the tokens also rotates the key. The random nonce makes every session
 * distinct; CSRF tokens are bound to it (see `csrf.ts`). Purposes are domain-separated: a session signature,
 * a token tag and a CSRF token are MACs of differently prefixed messages, so one can never pass for another.
 *
 * Sessions cannot be revoked one by one on the server (there is no session store): signing out deletes the
 * cookie in the browser; to end every session, rotate `API_TOKEN` or the session secret.
 */

/** Lifetime of a session. */
export const DEFAULT_SESSION_TTL_MS = 12 * 60 * 60 * 1000

/** What a valid cookie proves. */
export interface Session {
  readonly expiresAt: number
  /** Random per sign-in; CSRF tokens are derived from it. */
  readonly nonce: string
  /** Keyed hash of the token that signed in. */
  readonly tokenTag: string
}

const encoder = new TextEncoder()
const COOKIE_PATTERN = /^(\d{1,16})\.([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{43})$/
// 16 bytes of tag: collisions between configured tokens are out of reach, and the cookie stays short.
const TAG_BYTES = 16

/** Signs and checks session cookies and CSRF tokens for one set of API tokens. */
export class SessionKeys {
  readonly #tokens: readonly string[]
  readonly #ttlMs: number
  readonly #key: Promise<CryptoKey | null>
  #tags: Promise<Uint8Array[]> | undefined

  /**
   * @param apiTokens the accepted tokens; with none, nobody can sign in.
   * @param sessionSecret signing secret; @default derived from the tokens
   */
  constructor(apiTokens: readonly string[], sessionSecret?: string, ttlMs = DEFAULT_SESSION_TTL_MS) {
    this.#tokens = [...apiTokens]
    this.#ttlMs = ttlMs
    const material =
      sessionSecret !== undefined && sessionSecret !== ''
        ? `secret\u0000${sessionSecret}`
        : `tokens\u0000${this.#tokens.join('\u0000')}`
    this.#key = this.#tokens.length === 0 ? Promise.resolve(null) : importKey(material)
  }

  /** Whether any token is configured; without one the dashboard is closed. */
  get configured(): boolean {
    return this.#tokens.length > 0
  }

  /**
   * The session for `token` when it is one of the configured tokens, else null. Compares keyed hashes of
   * every configured token without early exit, so timing reveals neither which token matched nor a prefix.
   */
  async signIn(token: string, now: number): Promise<{ session: Session; cookie: string } | null> {
    const key = await this.#key
    if (!key || token.length === 0) return null
    const presented = await this.#tag(key, token)
    if (!matchesAny(presented, await this.#configuredTags(key))) return null
    const session: Session = {
      expiresAt: now + this.#ttlMs,
      nonce: base64url(crypto.getRandomValues(new Uint8Array(16))),
      tokenTag: base64url(presented),
    }
    const payload = sessionPayload(session)
    const signature = await crypto.subtle.sign('HMAC', key, encoder.encode(`session\u0000${payload}`))
    return { session, cookie: `${payload}.${base64url(new Uint8Array(signature))}` }
  }

  /** The session a cookie proves, or null when it is malformed, forged, expired or its token was removed. */
  async verify(cookie: string | undefined, now: number): Promise<Session | null> {
    const key = await this.#key
    const match = cookie === undefined ? null : COOKIE_PATTERN.exec(cookie)
    if (!key || !match) return null
    const [, expiry, nonce, tokenTag, signature] = match as unknown as [string, string, string, string, string]
    const session: Session = { expiresAt: Number(expiry), nonce, tokenTag }
    const valid = await crypto.subtle.verify(
      'HMAC',
      key,
      fromBase64url(signature),
      encoder.encode(`session\u0000${sessionPayload(session)}`),
    )
    if (!valid) return null
    // A signed expiry further out than one lifetime was not issued by this configuration.
    if (session.expiresAt <= now || session.expiresAt > now + this.#ttlMs) return null
    if (!matchesAny(fromBase64url(tokenTag), await this.#configuredTags(key))) return null
    return session
  }

  /**
   * A keyed hash of `data` for `purpose` (domain-separated from the session signature), base64url; null when
   * no token is configured. Other modules derive their tokens with it (CSRF, see `csrf.ts`).
   */
  async mac(purpose: string, data: string): Promise<string | null> {
    const key = await this.#key
    if (!key) return null
    const mac = await crypto.subtle.sign('HMAC', key, encoder.encode(`purpose\u0000${purpose}\u0000${data}`))
    return base64url(new Uint8Array(mac))
  }

  /** Whether `presented` is `mac(purpose, data)`; constant-time (`crypto.subtle.verify`). */
  async verifyMac(purpose: string, data: string, presented: string): Promise<boolean> {
    const key = await this.#key
    if (!key || !/^[A-Za-z0-9_-]{43}$/.test(presented)) return false
    return crypto.subtle.verify('HMAC', key, fromBase64url(presented), encoder.encode(`purpose\u0000${purpose}\u0000${data}`))
  }

  /** Seconds a new session cookie lives, for its Max-Age. */
  get maxAgeSeconds(): number {
    return Math.floor(this.#ttlMs / 1000)
  }

  #configuredTags(key: CryptoKey): Promise<Uint8Array[]> {
    this.#tags ??= Promise.all(this.#tokens.map((token) => this.#tag(key, token)))
    return this.#tags
  }

  async #tag(key: CryptoKey, token: string): Promise<Uint8Array> {
    const mac = await crypto.subtle.sign('HMAC', key, encoder.encode(`token\u0000${token}`))
    return new Uint8Array(mac).slice(0, TAG_BYTES)
  }
}

async function importKey(material: string): Promise<CryptoKey> {
  const raw = await crypto.subtle.digest('SHA-256', encoder.encode(`gorkflow-ui-session-v1\u0000${material}`))
  return crypto.subtle.importKey('raw', raw, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify'])
}

function sessionPayload(session: Session): string {
  return `${session.expiresAt}.${session.nonce}.${session.tokenTag}`
}

/** Byte-wise comparison against every candidate, without early exit. */
function matchesAny(presented: Uint8Array, candidates: readonly Uint8Array[]): boolean {
  let matched = 0
  for (const candidate of candidates) {
    let diff = candidate.length ^ presented.length
    for (let i = 0; i < candidate.length; i++) diff |= (candidate[i] as number) ^ (presented[i] ?? 0)
    matched |= diff === 0 ? 1 : 0
  }
  return matched === 1
}

function base64url(bytes: Uint8Array): string {
  let binary = ''
  for (const byte of bytes) binary += String.fromCharCode(byte)
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
}

function fromBase64url(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text.replace(/-/g, '+').replace(/_/g, '/'))
  const bytes = new Uint8Array(binary.length)
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i)
  return bytes
}
