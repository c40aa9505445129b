/**
 * @module
 * Hono answers an unmatched method with "not found"; the API answers 405 with an `Allow` header when the
 * path exists under another method.
 */
import type { Hono } from 'hono'

interface RouteEntry {
  readonly method: string
  readonly pattern: RegExp
}

/**
 * Returns a lookup of the methods registered for a path, built on first use from the app's routes (so it
 * sees routes added after this call). Middleware entries (method ALL) do not count.
 */
export function methodNotAllowed(app: Pick<Hono, 'routes'>): (path: string) => string[] {
  let entries: RouteEntry[] | undefined
  return (path) => {
    entries ??= app.routes
      .filter((route) => route.method !== 'ALL')
      .map((route) => ({ method: route.method.toUpperCase(), pattern: toPattern(route.path) }))
    const methods = new Set(entries.filter((entry) => entry.pattern.test(path)).map((entry) => entry.method))
    if (methods.has('GET')) methods.add('HEAD')
    return [...methods].sort()
  }
}

function toPattern(path: string): RegExp {
  const source = path
    .split('/')
    .map((segment) => (segment.startsWith(':') ? '[^/]+' : segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('/')
  return new RegExp(`^${source}/?$`)
}
