/**
 * @module
 * Ill-formed Unicode in request bodies. JSON's `\ud800` escapes can carry lone UTF-16 surrogates, which UTF-8
 * cannot encode: stores write them as U+FFFD, so `"z\ud800K"` and `"z\udfffK"` would be stored as the same
 * idempotency key (or resource id, or tag) and collide. The API refuses them instead (README, "Hostile input").
 */

// A lone surrogate is a code point of category Cs under the `u` flag; a proper pair reads as one astral code point.
const LONE_SURROGATE = /\p{Surrogate}/u

/**
 * The path (`tags.k1`, `input.items.3`) of a string in `value`, object key or value, that is not well-formed
 * UTF-16, or null when every string is. Walks with an explicit stack: JSON.parse accepts nesting
 * deeper than the call stack allows.
 */
export function findIllFormedString(value: unknown): string | null {
  const pending: { value: unknown; path: string }[] = [{ value, path: '' }]
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const { value: current, path } = next
    if (typeof current === 'string') {
      if (LONE_SURROGATE.test(current)) return path
    } else if (Array.isArray(current)) {
      for (let i = current.length - 1; i >= 0; i--) pending.push({ value: current[i], path: join(path, String(i)) })
    } else if (current !== null && typeof current === 'object') {
      const entries = Object.entries(current)
      for (let i = entries.length - 1; i >= 0; i--) {
        const [key, child] = entries[i] as [string, unknown]
        if (LONE_SURROGATE.test(key)) return join(path, escapeSurrogates(key))
        pending.push({ value: child, path: join(path, key) })
      }
    }
  }
  return null
}

function join(path: string, segment: string): string {
  return path === '' ? segment : `${path}.${segment}`
}

/** A key holding a lone surrogate, printable in a JSON answer: each lone surrogate as `\uXXXX`. */
function escapeSurrogates(key: string): string {
  return key.replace(/\p{Surrogate}/gu, (s) => `\\u${s.charCodeAt(0).toString(16)}`)
}
