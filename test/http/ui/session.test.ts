import { describe, expect, it } from 'vitest'
import { csrfToken, verifyCsrfToken } from '../../../src/http/ui/csrf'
import { SessionKeys } from '../../../src/http/ui/session'

const T0 = Date.UTC(2026, 0, 1)
const HOUR = 3_600_000

async function signedIn(keys: SessionKeys, token = 'alpha-token') {
  const result = await keys.signIn(token, T0)
  if (!result) throw new Error('sign-in refused')
  return result
}

describe('SessionKeys', () => {
  it('signs in with a configured token and verifies the cookie it issues', async () => {
    const keys = new SessionKeys(['alpha-token', 'beta-token'])
    const { cookie, session } = await signedIn(keys, 'beta-token')
    expect(await keys.verify(cookie, T0 + 1)).toEqual(session)
    expect(session.expiresAt).toBe(T0 + 12 * HOUR)
  })

  it('never puts the token in the cookie', async () => {
    const { cookie } = await signedIn(new SessionKeys(['alpha-token']))
    expect(cookie).not.toContain('alpha')
    expect(cookie).not.toContain(btoa('alpha-token').replace(/=+$/, ''))
  })

  it('refuses an unknown, empty or prefix token, and everything when no token is configured', async () => {
    const keys = new SessionKeys(['alpha-token'])
    expect(await keys.signIn('alpha', T0)).toBeNull()
    expect(await keys.signIn('alpha-token-and-more', T0)).toBeNull()
    expect(await keys.signIn('', T0)).toBeNull()
    const closed = new SessionKeys([])
    expect(closed.configured).toBe(false)
    expect(await closed.signIn('', T0)).toBeNull()
    expect(await closed.verify('1.a.b.c', T0)).toBeNull()
  })

  it('issues a distinct session on every sign-in', async () => {
    const keys = new SessionKeys(['alpha-token'])
    const a = await signedIn(keys)
    const b = await signedIn(keys)
    expect(a.session.nonce).not.toBe(b.session.nonce)
    expect(a.cookie).not.toBe(b.cookie)
  })

  it('refuses a cookie whose expiry, nonce, tag or signature was changed', async () => {
    const keys = new SessionKeys(['alpha-token'])
    const { cookie } = await signedIn(keys)
    const [expiry, nonce, tag, signature] = cookie.split('.') as [string, string, string, string]
    const flip = (s: string) => (s[0] === 'A' ? 'B' : 'A') + s.slice(1)
    for (const forged of [
      [String(Number(expiry) + 1000), nonce, tag, signature],
      [expiry, flip(nonce), tag, signature],
      [expiry, nonce, flip(tag), signature],
      [expiry, nonce, tag, flip(signature)],
    ]) {
      // 2 s later, so a pushed-out expiry is still inside one lifetime and only the signature can refuse it.
      expect(await keys.verify(forged.join('.'), T0 + 2_000)).toBeNull()
    }
    expect(await keys.verify(cookie, T0 + 2_000)).not.toBeNull()
    expect(await keys.verify(undefined, T0)).toBeNull()
    expect(await keys.verify('garbage', T0)).toBeNull()
  })

  it('accepts a cookie 1 ms before it expires and refuses it at its expiry', async () => {
    const keys = new SessionKeys(['alpha-token'], undefined, HOUR)
    const { cookie } = await signedIn(keys)
    expect(await keys.verify(cookie, T0 + HOUR - 1)).not.toBeNull()
    expect(await keys.verify(cookie, T0 + HOUR)).toBeNull()
  })

  it('ends sessions of a token removed from the configuration, even with a fixed session secret', async () => {
    const before = new SessionKeys(['alpha-token', 'beta-token'], 'fixed secret')
    const alpha = await signedIn(before, 'alpha-token')
    const beta = await signedIn(before, 'beta-token')
    const after = new SessionKeys(['beta-token', 'gamma-token'], 'fixed secret')
    expect(await after.verify(alpha.cookie, T0)).toBeNull()
    expect(await after.verify(beta.cookie, T0)).not.toBeNull()
  })

  it('derives the key from the tokens when no secret is given, so rotating the tokens ends every session', async () => {
    const { cookie } = await signedIn(new SessionKeys(['alpha-token', 'beta-token']))
    // Same tokens in a fresh instance (a new isolate): still valid.
    expect(await new SessionKeys(['alpha-token', 'beta-token']).verify(cookie, T0)).not.toBeNull()
    // Adding a token rotates the derived key.
    expect(await new SessionKeys(['alpha-token', 'beta-token', 'gamma-token']).verify(cookie, T0)).toBeNull()
  })

  it('refuses a cookie signed with another session secret', async () => {
    const { cookie } = await signedIn(new SessionKeys(['alpha-token'], 'secret one'))
    expect(await new SessionKeys(['alpha-token'], 'secret two').verify(cookie, T0)).toBeNull()
  })
})

describe('CSRF tokens', () => {
  it('accepts the token of the same session and refuses it for another session', async () => {
    const keys = new SessionKeys(['alpha-token'])
    const a = await signedIn(keys)
    const b = await signedIn(keys)
    const token = await csrfToken(keys, a.session)
    expect(await verifyCsrfToken(keys, a.session, token)).toBe(true)
    expect(await verifyCsrfToken(keys, b.session, token)).toBe(false)
  })

  it('refuses a missing, malformed or altered token', async () => {
    const keys = new SessionKeys(['alpha-token'])
    const { session } = await signedIn(keys)
    const token = await csrfToken(keys, session)
    expect(await verifyCsrfToken(keys, session, undefined)).toBe(false)
    expect(await verifyCsrfToken(keys, session, '')).toBe(false)
    expect(await verifyCsrfToken(keys, session, `${token}x`)).toBe(false)
    expect(await verifyCsrfToken(keys, session, (token[0] === 'A' ? 'B' : 'A') + token.slice(1))).toBe(false)
  })

  it('is not the session signature: a CSRF token never verifies as a cookie', async () => {
    const keys = new SessionKeys(['alpha-token'])
    const { cookie, session } = await signedIn(keys)
    const token = await csrfToken(keys, session)
    const [expiry, nonce, tag] = cookie.split('.')
    expect(await keys.verify(`${expiry}.${nonce}.${tag}.${token}`, T0)).toBeNull()
  })
})
