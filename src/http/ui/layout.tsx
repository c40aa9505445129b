/**
 * @module
 * The page shell: document head, skip link, navigation, sign-out form. Every dashboard page renders inside it.
 */
import type { Child } from 'hono/jsx'
import { CSRF_FIELD } from './csrf'
import type { PageContext } from './page-context'
import { CSS_VERSION, JS_VERSION } from './styles'

export interface LayoutProps {
  readonly ctx: PageContext
  readonly title: string
  /** The navigation entry to mark as current. */
  readonly section?: 'runs' | 'workflows'
  /** Reload the page this often while something on it is live; omitted when nothing changes. */
  readonly refreshMs?: number | undefined
  /** The run's event stream, which the refresh script listens to where EventSource exists. */
  readonly stream?: { readonly url: string; readonly updatedAt: number } | undefined
  /** What the page shows, condensed; the refresh script reloads when the server's differs. */
  readonly fingerprint?: string | undefined
  readonly children?: Child
}

/** The HTML document around a page. */
export function Layout(props: LayoutProps) {
  const { ctx, section } = props
  const refreshSeconds = props.refreshMs === undefined ? undefined : Math.max(1, Math.round(props.refreshMs / 1000))
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="referrer" content="same-origin" />
        {/* No favicon request: the main app has no /favicon.ico. */}
        <link rel="icon" href="data:," />
        <title>{`${props.title} · Gorkflow`}</title>
        <link rel="stylesheet" href={`${ctx.base}/assets/ui.css?v=${CSS_VERSION}`} />
        {props.refreshMs === undefined ? null : <script src={`${ctx.base}/assets/refresh.js?v=${JS_VERSION}`} defer />}
        {refreshSeconds === undefined ? null : (
          <noscript>
            <meta http-equiv="refresh" content={String(refreshSeconds)} />
          </noscript>
        )}
      </head>
      <body
        data-refresh-ms={props.refreshMs === undefined ? undefined : String(props.refreshMs)}
        data-fingerprint={props.refreshMs === undefined ? undefined : props.fingerprint}
        data-stream={props.refreshMs === undefined ? undefined : props.stream?.url}
        data-updated-at={props.refreshMs === undefined || props.stream === undefined ? undefined : String(props.stream.updatedAt)}
      >
        <a class="skip" href="#main">
          Skip to content
        </a>
        <header class="top">
          <a class="brand" href={`${ctx.base}/runs`}>
            Gorkflow
          </a>
          {ctx.csrf === null ? null : (
            <>
              <nav aria-label="Main">
                <ul>
                  <li>
                    <a href={`${ctx.base}/runs`} aria-current={section === 'runs' ? 'page' : undefined}>
                      Runs
                    </a>
                  </li>
                  <li>
                    <a href={`${ctx.base}/workflows`} aria-current={section === 'workflows' ? 'page' : undefined}>
                      Workflows
                    </a>
                  </li>
                </ul>
              </nav>
              <form method="post" action={`${ctx.base}/sign-out`}>
                <input type="hidden" name={CSRF_FIELD} value={ctx.csrf} />
                <button type="submit" class="secondary">
                  Sign out
                </button>
              </form>
            </>
          )}
        </header>
        <main id="main" tabindex={-1}>
          {props.children}
        </main>
        <footer>
          Gorkflow dashboard · times in UTC · {props.refreshMs === undefined ? 'static page' : 'updates itself while runs are live (paused while a control has focus)'}
        </footer>
      </body>
    </html>
  )
}
