/**
 * @module
 * Text for times, durations and JSON as the dashboard shows them. Pure; `now` is always passed in, so a
 * page renders the same way in a test as in production.
 */
import type { WaitingFor } from '../../core/model'

/** `2026-11-26 13:48:28 UTC`: unambiguous and the same for every viewer. */
export function formatAbsolute(epochMs: number): string {
  return new Date(epochMs).toISOString().replace('T', ' ').replace(/\.\d{3}Z$/, ' UTC')
}

/** `12 s ago`, `5 min ago`, `in 3 s`: coarse on purpose; the absolute time is shown next to it. */
export function formatRelative(epochMs: number, now: number): string {
  const delta = now - epochMs
  const abs = Math.abs(delta)
  if (abs < 1_000) return 'just now'
  const text =
    abs < 60_000
      ? `${Math.floor(abs / 1_000)} s`
      : abs < 3_600_000
        ? `${Math.floor(abs / 60_000)} min`
        : abs < 86_400_000
          ? `${Math.floor(abs / 3_600_000)} h`
          : `${Math.floor(abs / 86_400_000)} d`
  return delta >= 0 ? `${text} ago` : `in ${text}`
}

/** `850 ms`, `1.25 s`, `3 min 4 s`, `2 h 5 min`. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '—'
  if (ms < 1_000) return `${Math.round(ms)} ms`
  if (ms < 10_000) return `${(ms / 1_000).toFixed(2).replace(/\.?0+$/, '')} s`
  if (ms < 60_000) return `${(ms / 1_000).toFixed(1).replace(/\.0$/, '')} s`
  if (ms < 3_600_000) {
    const s = Math.floor((ms % 60_000) / 1_000)
    return `${Math.floor(ms / 60_000)} min${s === 0 ? '' : ` ${s} s`}`
  }
  const min = Math.floor((ms % 3_600_000) / 60_000)
  return `${Math.floor(ms / 3_600_000)} h${min === 0 ? '' : ` ${min} min`}`
}

/** Most characters of one JSON value a page shows; the rest is cut with a note, so one huge output cannot bloat a page. */
export const JSON_DISPLAY_LIMIT = 20_000

/**
 * Indented JSON, cut at {@link JSON_DISPLAY_LIMIT} characters, invisible characters escaped (see user-text.tsx).
 * Text, never markup: the renderer escapes it.
 */
export function formatJson(value: unknown, limit = JSON_DISPLAY_LIMIT): string {
  let text: string
  try {
    text = JSON.stringify(value, null, 2) ?? 'undefined'
  } catch {
    text = String(value)
  }
  text = escapeInvisible(text)
  if (text.length <= limit) return text
  return `${text.slice(0, limit)}\n… ${text.length - limit} more characters not shown (use the API for the full value)`
}

// C1 controls and format characters (bidi overrides and isolates, zero-width ones), which JSON.stringify leaves
// as they are. In its output they can only stand inside strings, where a `\uXXXX` escape is the same JSON.
const INVISIBLE_IN_JSON = /[\u007f-\u009f\p{Cf}]/gu

/** JSON text with every invisible character written as its `\uXXXX` escape, so none can reorder the page. */
function escapeInvisible(json: string): string {
  return json.replace(INVISIBLE_IN_JSON, (ch) =>
    Array.from({ length: ch.length }, (_, i) => `\\u${ch.charCodeAt(i).toString(16).padStart(4, '0')}`).join(''),
  )
}

/** A run id shortened for tables: its first 8 characters. */
export function shortId(id: string): string {
  return id.length <= 12 ? id : `${id.slice(0, 8)}…`
}

/** One line on what a run waits for: `sleeping at step nap until … (in 5 min)`. */
export function formatWaitingFor(waiting: WaitingFor, now: number): string {
  const until = waiting.until === null ? null : `${formatAbsolute(waiting.until)} (${formatRelative(waiting.until, now)})`
  if (waiting.kind === 'sleep') return `Sleeping at step ${waiting.stepId} until ${until ?? 'further notice'}`
  if (waiting.kind === 'version') return formatVersionWait(waiting)
  if (waiting.kind === 'child') return `Waiting for child run ${waiting.runId} (${waiting.workflowId}) at step ${waiting.stepId}`
  return `Waiting for event \u201c${waiting.name}\u201d at step ${waiting.stepId}${until === null ? ', with no deadline' : `, until ${until}`}`
}

/** Why a run waits for its version, and what an operator can do about it. */
export function formatVersionWait(waiting: Extract<WaitingFor, { kind: 'version' }>): string {
  const pinned = `version ${waiting.version} (graph ${waiting.fingerprint ?? 'unknown'})`
  return waiting.sameVersionOtherGraph
    ? `Waiting for ${pinned}: this deployment has version ${waiting.version} with another graph, which looks like a forgotten version bump. ` +
        'Deploy the original definition again, or migrate or cancel the run'
    : `Waiting for ${pinned}, which is not registered here. Keep it deployed until its runs drain, or migrate or cancel the run`
}

/**
 * An HTML id for a thing named by a user-chosen id (a step id may hold any character): prefixed and
 * percent-encoded, so it is a valid id and a matching `#fragment`.
 */
export function anchorId(prefix: string, id: string): string {
  return `${prefix}-${encodeURIComponent(id)}`
}
