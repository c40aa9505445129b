/**
 * @module
 * CSRF protection for the dashboard's forms. Every state-changing form (start a run, cancel, sign out)
 * carries a token derived from the session's random nonce; a POST without the token of the session that
 * sent it is refused. SameSite=Strict cookies already keep cross-site posts out in current browsers; the
 * token is the defence that does not depend on the browser.
 */
import type { Session, SessionKeys } from './session'

/** Name of the hidden form field that carries the token. */
export const CSRF_FIELD = '_csrf'

const PURPOSE = 'csrf'

/** The CSRF token of `session`: worthless for any other session, stable for this one. */
export async function csrfToken(keys: SessionKeys, session: Session): Promise<string> {
  const token = await keys.mac(PURPOSE, session.nonce)
  if (token === null) throw new Error('no API token is configured')
  return token
}

/** Whether `presented` is the CSRF token of `session`. Constant-time. */
export function verifyCsrfToken(keys: SessionKeys, session: Session, presented: unknown): Promise<boolean> {
  if (typeof presented !== 'string') return Promise.resolve(false)
  return keys.verifyMac(PURPOSE, session.nonce, presented)
}
