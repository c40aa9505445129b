/**
 * @module
 * The listing cursor of stores that page by (createdAt desc, runId desc): an opaque base64url token holding
 * the last row's position. Works the same on Workers and Node (no Buffer).
 */
import { InvalidCursorError } from '../core/errors'

export interface CursorPosition {
  readonly createdAt: number
  readonly runId: string
}

export function encodeCursor(position: CursorPosition): string {
  const text = JSON.stringify([position.createdAt, position.runId])
  const bytes = new TextEncoder().encode(text)
  let binary = ''
  for (const byte of bytes) binary += String.fromCharCode(byte)
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
}

/** @throws InvalidCursorError for anything `encodeCursor` did not produce. */
export function decodeCursor(cursor: string): CursorPosition {
  try {
    if (!/^[A-Za-z0-9_-]{1,2048}$/.test(cursor)) throw new Error('charset')
    const binary = atob(cursor.replace(/-/g, '+').replace(/_/g, '/'))
    const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0))
    const parsed: unknown = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes))
    if (
      Array.isArray(parsed) &&
      parsed.length === 2 &&
      Number.isSafeInteger(parsed[0]) &&
      typeof parsed[1] === 'string'
    ) {
      return { createdAt: parsed[0] as number, runId: parsed[1] }
    }
  } catch {
    // fall through: every malformed cursor gets the same typed error
  }
  throw new InvalidCursorError()
}
