import { describe, expect, it } from 'vitest'
import { formatJson } from '../../../src/http/ui/format'
import { visibleText } from '../../../src/http/ui/user-text'

describe('visibleText', () => {
  it('shows every bidi control as a mark', () => {
    const controls = '\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069'
    const shown = visibleText(controls)
    expect(shown).not.toMatch(/[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/)
    expect(shown).toBe(
      ['061C', '200E', '200F', '202A', '202B', '202C', '202D', '202E', '2066', '2067', '2068', '2069']
        .map((hex) => `\u27e8U+${hex}\u27e9`)
        .join(''),
    )
  })

  it('shows C0 and C1 controls, zero-width characters and lone surrogates as marks', () => {
    expect(visibleText('a\u0000b\u0085c\u200bd\ufeffe\ud800f')).toBe(
      'a\u27e8U+0000\u27e9b\u27e8U+0085\u27e9c\u27e8U+200B\u27e9d\u27e8U+FEFF\u27e9e\u27e8U+D800\u27e9f',
    )
  })

  it('leaves ordinary text, right-to-left letters and emoji as they are', () => {
    for (const text of ['acct-1337', 'שלום', 'مرحبا', 'naïve café', '😀 ok']) expect(visibleText(text)).toBe(text)
  })
})

describe('formatJson', () => {
  it('writes invisible characters in strings as JSON escapes, which parse back to the same value', () => {
    const value = { name: 'acct-\u202e1337-evil', zw: 'a\u200bb', c1: 'x\u0085y', astral: '\u{e0001}' }
    const text = formatJson(value)
    expect(text).not.toMatch(/[\u0085\u200b\u202e]|\u{e0001}/u)
    expect(text).toContain('"acct-\\u202e1337-evil"')
    expect(JSON.parse(text)).toEqual(value)
  })
})
