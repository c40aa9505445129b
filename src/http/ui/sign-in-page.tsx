/**
 * @module
 * The sign-in page: one field for an API token. With no token configured it explains how to set one instead,
 * because the dashboard, like the API, is closed by default.
 */
import { Layout } from './layout'
import type { PageContext } from './page-context'

/** Messages chosen by a fixed key, so nothing from the URL is echoed. */
export const SIGN_IN_NOTICES = {
  'signed-out': 'You are signed out.',
  expired: 'Your session has ended. Sign in again.',
} as const
export type SignInNotice = keyof typeof SIGN_IN_NOTICES

export interface SignInPageProps {
  readonly ctx: PageContext
  /** Whether any API token is configured. */
  readonly configured: boolean
  /** Where to go after signing in (already checked to be a dashboard path). */
  readonly next: string
  readonly error?: string | undefined
  readonly notice?: SignInNotice | undefined
  /** The page is served over plain HTTP to a host other than localhost: the Secure cookie will not stick. */
  readonly insecure?: boolean
}

export function SignInPage(props: SignInPageProps) {
  const { ctx } = props
  return (
    <Layout ctx={ctx} title="Sign in">
      <div class="signin">
        <h1>Sign in</h1>
        {props.notice === undefined ? null : (
          <p class="notice" role="status">
            {SIGN_IN_NOTICES[props.notice]}
          </p>
        )}
        {props.configured ? (
          <>
            {props.insecure ? (
              <p class="error-box">
                This page was reached over plain HTTP. The session cookie is marked Secure, so signing in only works
                over HTTPS (or on localhost).
              </p>
            ) : null}
            <form method="post" action={`${ctx.base}/sign-in`}>
              <input type="hidden" name="next" value={props.next} />
              {/* Lets password managers file the token under a name; not read by the server. */}
              <input type="text" name="username" value="Gorkflow API token" autocomplete="username" hidden />
              {props.error === undefined ? null : (
                <p class="error-box" id="token-error" role="alert">
                  {props.error}
                </p>
              )}
              <label for="token">API token</label>
              <p class="hint" id="token-hint">
                One of the tokens in <code>API_TOKEN</code>. It is checked and then forgotten: the session cookie holds
                only a keyed hash of it.
              </p>
              <input
                id="token"
                name="token"
                type="password"
                required
                autocomplete="current-password"
                autofocus
                aria-describedby={props.error === undefined ? 'token-hint' : 'token-error token-hint'}
                aria-invalid={props.error === undefined ? undefined : 'true'}
              />
              <div class="actions">
                <button type="submit">Sign in</button>
              </div>
            </form>
          </>
        ) : (
          <div class="notice" role="alert">
            <p>
              <strong>No API token is configured, so the dashboard is closed.</strong>
            </p>
            <p>Set <code>API_TOKEN</code> (several tokens may be given, comma-separated, for rotation):</p>
            <ul>
              <li>
                Cloudflare: <code>wrangler secret put API_TOKEN</code>
              </li>
              <li>
                <code>npm run dev</code>: add <code>API_TOKEN=…</code> to <code>.dev.vars</code>
              </li>
              <li>
                <code>npm start</code>: <code>API_TOKEN=… npm start</code>
              </li>
            </ul>
            <p>Then reload this page and sign in with that token.</p>
          </div>
        )}
      </div>
    </Layout>
  )
}
