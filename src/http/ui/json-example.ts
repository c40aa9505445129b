/**
 * @module
 * A starting value for a workflow's input form, read off its JSON Schema: defaults and examples where the
 * schema gives them, otherwise the simplest value of each type. A hint to edit, not a valid input by promise.
 */

const MAX_DEPTH = 6

/** A JSON value shaped like `schema`; `{}` when the schema says nothing useful. */
export function exampleFromJsonSchema(schema: Record<string, unknown> | null): unknown {
  return schema === null ? {} : sample(schema, 0)
}

function sample(schema: unknown, depth: number): unknown {
  if (typeof schema !== 'object' || schema === null || depth > MAX_DEPTH) return null
  const s = schema as Record<string, unknown>
  if ('default' in s) return s.default
  if ('const' in s) return s.const
  if (Array.isArray(s.examples) && s.examples.length > 0) return s.examples[0]
  if (Array.isArray(s.enum) && s.enum.length > 0) return s.enum[0]
  for (const key of ['anyOf', 'oneOf', 'allOf'] as const) {
    const options = s[key]
    if (Array.isArray(options) && options.length > 0) return sample(options[0], depth + 1)
  }
  const type = Array.isArray(s.type) ? s.type.find((t) => t !== 'null') : s.type
  switch (type) {
    case 'object': {
      const properties = (s.properties ?? {}) as Record<string, unknown>
      return Object.fromEntries(Object.entries(properties).map(([k, v]) => [k, sample(v, depth + 1)]))
    }
    case 'array':
      return []
    case 'string':
      return ''
    case 'integer':
    case 'number':
      return numberExample(s)
    case 'boolean':
      return false
    default:
      return s.properties ? sample({ ...s, type: 'object' }, depth) : null
  }
}

/** 0 when the range allows it, else the bound nearest to 0 (zod's int() gives ±2^53 bounds, not hints). */
function numberExample(s: Record<string, unknown>): number {
  const min = typeof s.minimum === 'number' ? s.minimum : typeof s.exclusiveMinimum === 'number' ? s.exclusiveMinimum + 1 : null
  const max = typeof s.maximum === 'number' ? s.maximum : typeof s.exclusiveMaximum === 'number' ? s.exclusiveMaximum - 1 : null
  if (min !== null && min > 0) return min
  if (max !== null && max < 0) return max
  return 0
}
