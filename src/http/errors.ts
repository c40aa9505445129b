/**
 * @module
 * Errors become responses here and nowhere else. Every error body has the shape
 * `{ "error": { "code", "message", "details"? } }`; nothing a client sends can produce a stack trace.
 */
import type { Context } from 'hono'
import { HTTPException } from 'hono/http-exception'
import type { ContentfulStatusCode } from 'hono/utils/http-status'
import { type ErrorCode, isGorkflowError } from '../core/errors'
import type { Json } from '../core/model'
import { MAX_ERROR_DETAILS_JSON, MAX_ERROR_ISSUE_TEXT, MAX_ERROR_ISSUES, MAX_ERROR_MESSAGE } from './limits'

/** HTTP status of every library error code. `satisfies` turns a new code without a status into a compile error. */
export const STATUS_BY_CODE = {
  VALIDATION_ERROR: 400,
  INVALID_ARGUMENT: 400,
  INVALID_CURSOR: 400,
  WORKFLOW_NOT_FOUND: 404,
  WORKFLOW_VERSION_NOT_FOUND: 404,
  SCHEDULE_NOT_FOUND: 404,
  MIGRATION_REFUSED: 409,
  RUN_NOT_FOUND: 404,
  STEP_EXECUTION_NOT_FOUND: 404,
  STEP_OUTPUT_NOT_FOUND: 404,
  STATE_NOT_FOUND: 404,
  EVENT_NOT_FOUND: 404,
  EVENT_ALREADY_DELIVERED: 409,
  RUN_ALREADY_EXISTS: 409,
  RUN_ALREADY_FINISHED: 409,
  RUN_STATE_CONFLICT: 409,
  LEASE_LOST: 409,
  CANCELLED: 409,
  PAYLOAD_TOO_LARGE: 413,
  NON_RETRYABLE: 422,
  EXECUTION_FAILED: 500,
  INTERNAL_ERROR: 500,
  // A definition that fails build() is a deployment fault, not the client's.
  INVALID_WORKFLOW: 500,
  ATTEMPT_INTERRUPTED: 503,
  CHILD_FAILED: 500,
  MAP_TOO_LARGE: 422,
  STORE_UNAVAILABLE: 503,
  SCHEMA_OUT_OF_DATE: 503,
  TIMEOUT: 504,
} as const satisfies Record<ErrorCode, ContentfulStatusCode>

/** Codes only the HTTP layer produces (the others come from `core/errors`). */
export const HTTP_ERROR_CODES = [
  'UNAUTHORIZED',
  'INVALID_JSON',
  'NOT_FOUND',
  'METHOD_NOT_ALLOWED',
  'UNSUPPORTED_MEDIA_TYPE',
  'PAYLOAD_TOO_LARGE',
  'BAD_REQUEST',
  'INTERNAL_ERROR',
] as const
export type HttpErrorCode = (typeof HTTP_ERROR_CODES)[number]

const STATUS_BY_HTTP_CODE = {
  UNAUTHORIZED: 401,
  INVALID_JSON: 400,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  UNSUPPORTED_MEDIA_TYPE: 415,
  PAYLOAD_TOO_LARGE: 413,
  BAD_REQUEST: 400,
  INTERNAL_ERROR: 500,
} as const satisfies Record<HttpErrorCode, ContentfulStatusCode>

/** Body of every error response. */
export interface ErrorBody {
  error: { code: string; message: string; details?: Json }
}

/** A refusal decided by the HTTP layer itself (auth, malformed body, routing). */
export class HttpError extends Error {
  override name = 'HttpError'
  readonly status: ContentfulStatusCode

  constructor(
    readonly code: HttpErrorCode,
    message: string,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message)
    this.status = STATUS_BY_HTTP_CODE[code]
  }
}

/**
 * The JSON error response for `code`; use it for refusals decided outside a thrown error. The message and the
 * details are cut to the limits in `limits.ts`, so an answer never grows with the request that caused it.
 */
export function errorResponse(
  c: Context,
  status: ContentfulStatusCode,
  code: string,
  message: string,
  options: { details?: Json; headers?: Record<string, string> } = {},
): Response {
  const body: ErrorBody = { error: { code, message: cut(message, MAX_ERROR_MESSAGE) } }
  if (options.details !== undefined) body.error.details = boundDetails(options.details)
  return c.json(body, status, options.headers)
}

/**
 * At most {@link MAX_ERROR_ISSUES} issues, each path and message cut, the rest counted in `omittedIssues`; then
 * any details still over {@link MAX_ERROR_DETAILS_JSON} characters are replaced by a note.
 */
function boundDetails(details: Json): Json {
  let bounded = details
  if (isRecord(details) && Array.isArray(details.issues)) {
    const { issues } = details
    bounded = {
      ...details,
      issues: issues.slice(0, MAX_ERROR_ISSUES).map((issue) =>
        isRecord(issue)
          ? Object.fromEntries(Object.entries(issue).map(([k, v]) => [k, typeof v === 'string' ? cut(v, MAX_ERROR_ISSUE_TEXT) : v]))
          : issue,
      ),
      ...(issues.length > MAX_ERROR_ISSUES ? { omittedIssues: issues.length - MAX_ERROR_ISSUES } : {}),
    }
  }
  const size = JSON.stringify(bounded).length
  return size <= MAX_ERROR_DETAILS_JSON ? bounded : { omitted: `${size} characters of details left out` }
}

function isRecord(value: Json): value is { [key: string]: Json } {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
}

/** `text` cut to `max` characters with a note of what was left out; never splits a surrogate pair. */
function cut(text: string, max: number): string {
  if (text.length <= max) return text
  const end = /[\uD800-\uDBFF]/.test(text.charAt(max - 1)) ? max - 1 : max
  return `${text.slice(0, end)}… (${text.length - end} more characters)`
}

const CODE_BY_HTTP_STATUS: Partial<Record<number, HttpErrorCode>> = {
  400: 'BAD_REQUEST',
  401: 'UNAUTHORIZED',
  404: 'NOT_FOUND',
  405: 'METHOD_NOT_ALLOWED',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
}

/** What an unexpected failure is logged with: no request bodies, no run inputs. */
export interface UnhandledErrorReport {
  readonly event: 'http_unhandled_error'
  readonly method: string
  readonly route: string
  readonly error: unknown
}

/**
 * The app's error handler. Library errors map through {@link STATUS_BY_CODE}; a 500 keeps its code but not its
 * message (it may name internals) and is logged, as is anything unknown, which becomes a generic INTERNAL_ERROR.
 */
export function createErrorHandler(report: (entry: UnhandledErrorReport) => void) {
  return function handleError(err: Error, c: Context): Response {
    if (err instanceof HttpError) {
      return errorResponse(c, err.status, err.code, err.message, { headers: { ...err.headers } })
    }
    if (isGorkflowError(err)) {
      const status: ContentfulStatusCode = STATUS_BY_CODE[err.code]
      if (status === 500) {
        report({ event: 'http_unhandled_error', method: c.req.method, route: c.req.routePath, error: err })
        return errorResponse(c, 500, err.code, 'internal error')
      }
      // 503/504 messages are written by our stores for operators (e.g. naming `npm run db:migrate`).
      const details = status < 500 ? err.details : undefined
      return errorResponse(c, status, err.code, err.message, details === undefined ? {} : { details })
    }
    if (err instanceof HTTPException && err.status < 500) {
      const status = err.status as ContentfulStatusCode
      return errorResponse(c, status, CODE_BY_HTTP_STATUS[status] ?? 'BAD_REQUEST', err.message || 'bad request')
    }
    report({ event: 'http_unhandled_error', method: c.req.method, route: c.req.routePath, error: err })
    return errorResponse(c, 500, 'INTERNAL_ERROR', 'internal error')
  }
}
