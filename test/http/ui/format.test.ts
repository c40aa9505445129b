import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { inputJsonSchema } from '../../../src/core/schema'
import { formatAbsolute, formatDuration, formatJson, formatRelative } from '../../../src/http/ui/format'
import { exampleFromJsonSchema } from '../../../src/http/ui/json-example'

describe('formatting', () => {
  it('writes absolute times in UTC to the second', () => {
    expect(formatAbsolute(Date.UTC(2026, 10, 26, 13, 48, 28, 512))).toBe('2026-11-26 13:48:28 UTC')
  })

  it('writes relative times coarsely, past and future', () => {
    const now = Date.UTC(2026, 0, 1)
    expect(formatRelative(now - 999, now)).toBe('just now')
    expect(formatRelative(now - 12_000, now)).toBe('12 s ago')
    expect(formatRelative(now - 5 * 60_000, now)).toBe('5 min ago')
    expect(formatRelative(now - 3 * 3_600_000, now)).toBe('3 h ago')
    expect(formatRelative(now - 2 * 86_400_000, now)).toBe('2 d ago')
    expect(formatRelative(now + 3_000, now)).toBe('in 3 s')
  })

  it('writes durations with a unit that fits', () => {
    expect(formatDuration(850)).toBe('850 ms')
    expect(formatDuration(1_250)).toBe('1.25 s')
    expect(formatDuration(2_000)).toBe('2 s')
    expect(formatDuration(12_300)).toBe('12.3 s')
    expect(formatDuration(184_000)).toBe('3 min 4 s')
    expect(formatDuration(7_500_000)).toBe('2 h 5 min')
    expect(formatDuration(-1)).toBe('—')
  })

  it('indents JSON and cuts very long values with a note', () => {
    expect(formatJson({ a: [1] })).toBe('{\n  "a": [\n    1\n  ]\n}')
    const cut = formatJson('x'.repeat(100), 10)
    expect(cut.startsWith('"xxxxxxxxx\n… ')).toBe(true)
    expect(cut).toContain('92 more characters not shown')
  })
})

describe('exampleFromJsonSchema', () => {
  it('builds a starting input from a zod schema, preferring 0 within the allowed range', () => {
    const schema = z.object({
      id: z.string(),
      count: z.number().int(),
      ms: z.number().int().min(100),
      enabled: z.boolean(),
      mode: z.enum(['fast', 'slow']),
      tags: z.array(z.string()),
      retries: z.number().default(3),
      nested: z.object({ level: z.number().max(-1) }),
    })
    expect(exampleFromJsonSchema(inputJsonSchema(schema))).toEqual({
      id: '',
      count: 0,
      ms: 100,
      enabled: false,
      mode: 'fast',
      tags: [],
      retries: 3,
      nested: { level: -1 },
    })
  })

  it('falls back to an empty object without a schema', () => {
    expect(exampleFromJsonSchema(null)).toEqual({})
  })
})
