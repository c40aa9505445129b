/**
 * @module
 * Size limits on what the engine persists (README "Limits"): a run's input, a step's output, an event's payload and
 * a state value. Each is measured once, as the UTF-8 bytes of its JSON text, on the copy the engine makes anyway
 * (it normalises every value through JSON so fresh and resumed runs see the same thing), and refused with
 * PAYLOAD_TOO_LARGE before anything is written. A store declares what it can hold ({@link WorkflowStore.payloadCeiling});
 * an engine's limits default to the smaller of {@link DEFAULT_PAYLOAD_LIMITS} and that ceiling, and a configured limit
 * above it is refused when the engine is built.
 */
import { InvalidArgumentError, PayloadTooLargeError } from './errors'
import type { Json } from './model'

/** Largest JSON text, in UTF-8 bytes, of each kind of value the engine persists. */
export interface PayloadLimits {
  /** A run's input, checked by `start`, `begin`, `run` and a child's start. */
  readonly runInputBytes: number
  /** A step's output (a skipped step's default too); an output over it fails the step, without a retry. */
  readonly stepOutputBytes: number
  /** An event's payload, checked by `sendEvent` before anything is delivered. */
  readonly eventPayloadBytes: number
  /** One value given to `ctx.state.set`; the set throws and nothing is written. */
  readonly stateValueBytes: number
}

export type PayloadKind = keyof PayloadLimits

/** 1 MiB each: Cloudflare Workflows' limit on a step's result and on an event's payload (README "Limits"). */
export const DEFAULT_PAYLOAD_LIMITS: PayloadLimits = Object.freeze({
  runInputBytes: 1024 * 1024,
  stepOutputBytes: 1024 * 1024,
  eventPayloadBytes: 1024 * 1024,
  stateValueBytes: 1024 * 1024,
})

/** The largest values a store can hold, and why (for the message that refuses a limit above them). */
export interface PayloadCeiling extends PayloadLimits {
  /** What bounds them, e.g. "DynamoDB items of at most maxItemBytes = 350000 bytes". */
  readonly reason: string
}

/**
 * Bytes of a record left for what is not a payload (ids, times, status, a short error). A store's records hold at
 * most two payloads: a step's input and output, or a run's input and output.
 */
export const RECORD_RESERVE_BYTES = 4096

/**
 * The ceiling of a store whose records (rows, items) hold at most `maxRecordBytes`. A run input, a step output and an
 * event payload each share a record with another value of that size (a step's input is its predecessor's output or
 * the run input; an event's payload becomes its wait step's output), so each gets half of what is left; a state value
 * has a record to itself.
 */
export function ceilingForRecords(maxRecordBytes: number, reason: string): PayloadCeiling {
  const single = maxRecordBytes - RECORD_RESERVE_BYTES
  const paired = Math.floor(single / 2)
  return Object.freeze({ runInputBytes: paired, stepOutputBytes: paired, eventPayloadBytes: paired, stateValueBytes: single, reason })
}

/**
 * The engine's limits: each configured one, or else the smaller of the default and the store's ceiling.
 * @throws InvalidArgumentError when a configured limit is not a positive integer or exceeds the store's ceiling
 */
export function resolvePayloadLimits(
  configured: Partial<PayloadLimits> | undefined,
  ceiling: PayloadCeiling | undefined,
  storeKind: string,
): PayloadLimits {
  const resolve = (kind: PayloadKind): number => {
    const value = configured?.[kind]
    const max = ceiling?.[kind] ?? Number.MAX_SAFE_INTEGER
    if (value === undefined) return Math.min(DEFAULT_PAYLOAD_LIMITS[kind], max)
    if (!Number.isSafeInteger(value) || value < 1) throw new InvalidArgumentError(`limits.${kind} must be a positive integer`)
    if (value > max) {
      throw new InvalidArgumentError(
        `limits.${kind} is ${value} bytes, above what the ${storeKind} store can hold: ${max} bytes (${ceiling?.reason ?? ''})`,
      )
    }
    return value
  }
  return Object.freeze({
    runInputBytes: resolve('runInputBytes'),
    stepOutputBytes: resolve('stepOutputBytes'),
    eventPayloadBytes: resolve('eventPayloadBytes'),
    stateValueBytes: resolve('stateValueBytes'),
  })
}

/**
 * `value` as the store will hold it (through JSON; `undefined` becomes null), measured on the one JSON text made.
 * @throws PayloadTooLargeError (PAYLOAD_TOO_LARGE, details `{ size, limit, kind }`) when the text exceeds `limit`
 */
export function toJsonWithin(value: unknown, limit: number, kind: PayloadKind, what: string): Json {
  const text = JSON.stringify(value) ?? 'null'
  const size = textSizeOver(text, limit)
  if (size !== null) throw new PayloadTooLargeError(what, size, limit, kind)
  return JSON.parse(text) as Json
}

/**
 * `value` (already JSON, e.g. outputs the engine holds) checked against `limit` without copying it.
 * @throws PayloadTooLargeError as {@link toJsonWithin}
 */
export function checkJsonWithin(value: Json, limit: number, kind: PayloadKind, what: string): void {
  const size = textSizeOver(JSON.stringify(value), limit)
  if (size !== null) throw new PayloadTooLargeError(what, size, limit, kind)
}

/** The UTF-8 size of a JSON text when it exceeds `limit`, else null. */
function textSizeOver(text: string, limit: number): number | null {
  // A UTF-8 text has at most 3 bytes per UTF-16 code unit: a text that short needs no count.
  if (text.length * 3 <= limit) return null
  const size = jsonTextBytes(text)
  return size > limit ? size : null
}

const NON_ASCII = /[^\x00-\x7f]/
const encoder = new TextEncoder()

/**
 * UTF-8 bytes of a long text. An ASCII text's length is its size, and the regex tells in 1.7 ms a MiB; otherwise
 * TextEncoder counts 2.7 ms a MiB against {@link utf8Length}'s 6–16 ms (bench: one MiB of `x`, then of `é`, Node 20).
 */
function jsonTextBytes(text: string): number {
  return NON_ASCII.test(text) ? encoder.encode(text).length : text.length
}

/**
 * Longest step error message persisted, in UTF-16 code units (at most 6,000 UTF-8 bytes); the rest is cut with a
 * note. A handler's error message is the one value a step persists that no schema or limit bounds otherwise.
 */
export const MAX_ERROR_MESSAGE_LENGTH = 2000
/** Largest step error `details` persisted (validation issues, a NonRetryableError's details), as JSON characters. */
export const MAX_ERROR_DETAILS_LENGTH = 16 * 1024

/** `message` cut to {@link MAX_ERROR_MESSAGE_LENGTH} with a note of what was left out; never splits a surrogate pair. */
export function boundedErrorMessage(message: string): string {
  if (message.length <= MAX_ERROR_MESSAGE_LENGTH) return message
  const end = /[\uD800-\uDBFF]/.test(message.charAt(MAX_ERROR_MESSAGE_LENGTH - 1)) ? MAX_ERROR_MESSAGE_LENGTH - 1 : MAX_ERROR_MESSAGE_LENGTH
  return `${message.slice(0, end)}… (${message.length - end} more characters)`
}

/** `details`, or a note in their place when their JSON text exceeds {@link MAX_ERROR_DETAILS_LENGTH} characters. */
export function boundedErrorDetails(details: Json): Json {
  const length = (JSON.stringify(details) ?? '').length
  return length <= MAX_ERROR_DETAILS_LENGTH ? details : { omitted: `${length} characters of details left out` }
}

/** UTF-8 length of a JS string without allocating (lone surrogates count as the 3-byte replacement). */
export function utf8Length(text: string): number {
  let bytes = 0
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i)
    if (code < 0x80) bytes += 1
    else if (code < 0x800) bytes += 2
    else if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1)
      if (next >= 0xdc00 && next <= 0xdfff) {
        bytes += 4
        i++
      } else bytes += 3
    } else bytes += 3
  }
  return bytes
}
