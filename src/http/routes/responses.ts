/**
 * @module
 * Response declarations shared by the route modules, so each route lists its error statuses in one line.
 */
import { ErrorSchema } from '../schemas'

const DESCRIPTIONS = {
  400: 'Invalid request (VALIDATION_ERROR, INVALID_JSON, INVALID_CURSOR, INVALID_ARGUMENT)',
  401: 'Missing or invalid bearer token, or none configured (UNAUTHORIZED)',
  404: 'Not found',
  409: 'Conflict with the run state (RUN_ALREADY_FINISHED, RUN_STATE_CONFLICT, EVENT_ALREADY_DELIVERED)',
  413: 'Request body too large (PAYLOAD_TOO_LARGE)',
  415: 'Request body is not JSON (UNSUPPORTED_MEDIA_TYPE)',
  503: 'The store is unavailable or not migrated',
} as const

type ErrorStatus = keyof typeof DESCRIPTIONS
type ErrorResponse = { content: { 'application/json': { schema: typeof ErrorSchema } }; description: string }

/** The OpenAPI `responses` entries of the given error statuses, all with the shared error body. */
export function errorResponses<const S extends readonly ErrorStatus[]>(
  ...statuses: S
): { [K in S[number]]: ErrorResponse } {
  const entries = statuses.map((status) => [
    status,
    { content: { 'application/json': { schema: ErrorSchema } }, description: DESCRIPTIONS[status] },
  ])
  return Object.fromEntries(entries) as { [K in S[number]]: ErrorResponse }
}

/** A JSON response declaration. */
export function json<T>(schema: T, description: string) {
  return { content: { 'application/json': { schema } }, description }
}

/** Routes under `/v1` require the bearer token; the document says so per route. */
export const BEARER = [{ bearerAuth: [] }]
