/**
 * @module
 * Limits on what a client may send, and on how much an error answer may echo back. The API's schemas, the
 * dashboard's forms and the error responses all read them from here, so the two front doors cannot drift apart
 * (README, "Hostile input").
 */

/** Longest `resourceId`, in UTF-16 code units (JavaScript's `length`), for the API and the dashboard alike. */
export const MAX_RESOURCE_ID_LENGTH = 255
/** Longest `idempotencyKey`, in UTF-16 code units. */
export const MAX_IDEMPOTENCY_KEY_LENGTH = 255
/** Longest tag key and tag value, and the most tags a run may carry. */
export const MAX_TAG_KEY_LENGTH = 100
export const MAX_TAG_VALUE_LENGTH = 500
export const MAX_TAGS = 50

/**
 * Most validation issues an error answer lists; the rest are counted in `details.omittedIssues`. A body of
 * 40,000 unknown keys used to be echoed back twice (an 869 KB request, a 1.8 MB answer).
 */
export const MAX_ERROR_ISSUES = 20
/** Longest issue path or issue message in an error answer, in characters; longer ones are cut with a note. */
export const MAX_ERROR_ISSUE_TEXT = 200
/** Longest top-level error message, in characters. */
export const MAX_ERROR_MESSAGE = 500
/** Largest `details` value an error answer carries, as JSON characters; larger details are left out with a note. */
export const MAX_ERROR_DETAILS_JSON = 16 * 1024
