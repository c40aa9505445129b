/**
 * @module
 * Request validation failures and body parsing: every refusal has the API's error shape.
 */
import type { Hook } from '@hono/zod-openapi'
import type { Context, MiddlewareHandler } from 'hono'
import { ValidationError, type ValidationIssue } from '../core/errors'
import { errorResponse, HttpError } from './errors'
import { findIllFormedString } from './well-formed'

const JSON_MEDIA_TYPE = /^application\/([\w.-]+\+)?json$/i

/** Zod issues as the `{ path, message }` list the engine also uses for input validation. */
export function toIssues(
  issues: readonly { path: readonly PropertyKey[]; message: string; code?: string; expected?: unknown }[],
): ValidationIssue[] {
  return issues.map((issue) => ({
    path: issue.path.map(String).join('.'),
    // zod 4 reports a missing `z.unknown()` key as "expected nonoptional", which reads like jargon.
    message: issue.code === 'invalid_type' && issue.expected === 'nonoptional' ? 'Required' : issue.message,
  }))
}

/** The `defaultHook` of every route: a failed zod check becomes 400 VALIDATION_ERROR listing the issues. */
export const validationHook: Hook<unknown, any, any, Response | undefined> = (result, c: Context) => {
  if (result.success) return undefined
  const issues = toIssues(result.error.issues)
  const first = issues[0]
  const where = first === undefined || first.path === '' ? '' : ` at ${first.path}`
  const message = `invalid ${describeTarget(result.target)}${where}: ${first?.message ?? 'rejected'}`
  return errorResponse(c, 400, 'VALIDATION_ERROR', message, { details: { issues: issues.map((i) => ({ ...i })) } })
}

function describeTarget(target: string): string {
  if (target === 'json') return 'request body'
  if (target === 'param') return 'path parameter'
  return target
}

/**
 * Requires a JSON request body and parses it once (Hono caches the text, so the route's validator reads
 * the same value): a wrong media type is 415 UNSUPPORTED_MEDIA_TYPE, unparsable text 400 INVALID_JSON, a string
 * with a lone surrogate 400 VALIDATION_ERROR.
 * Runs after the body limit, so it never reads more than the limit allows.
 */
export const requireJsonBody: MiddlewareHandler = async function requireJsonBody(c, next) {
  const mediaType = (c.req.header('Content-Type') ?? '').split(';')[0]?.trim() ?? ''
  if (!JSON_MEDIA_TYPE.test(mediaType)) {
    throw new HttpError('UNSUPPORTED_MEDIA_TYPE', 'send the request body as JSON with `Content-Type: application/json`')
  }
  let body: unknown
  try {
    body = await c.req.json()
  } catch {
    throw new HttpError('INVALID_JSON', 'the request body is not valid JSON')
  }
  // The one place every JSON body passes: a lone surrogate anywhere in it (key or value) is refused before any
  // route reads it, so no store ever sees one (see well-formed.ts).
  const illFormed = findIllFormedString(body)
  if (illFormed !== null) {
    const message = 'ill-formed Unicode: a lone UTF-16 surrogate (a \\ud800-\\udfff escape without its pair)'
    throw new ValidationError(`invalid request body${illFormed === '' ? '' : ` at ${illFormed}`}: ${message}`, [
      { path: illFormed, message },
    ])
  }
  await next()
}

/**
 * For routes whose JSON body may be left out (`POST /v1/runs/:runId/retry`): no body and no Content-Type
 * is an empty object; a JSON Content-Type needs parsable JSON (400 INVALID_JSON); any other media type, or
 * a body without a Content-Type, is 415 UNSUPPORTED_MEDIA_TYPE.
 */
export const optionalJsonBody: MiddlewareHandler = async function optionalJsonBody(c, next) {
  const contentType = c.req.header('Content-Type')
  if (contentType === undefined) {
    if ((await c.req.text()) !== '') {
      throw new HttpError('UNSUPPORTED_MEDIA_TYPE', 'send the request body as JSON with `Content-Type: application/json`')
    }
    return next()
  }
  return requireJsonBody(c, next)
}
