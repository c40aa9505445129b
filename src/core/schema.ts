/**
 * @module
 * Validation through Standard Schema (zod 4, valibot, arktype…). The engine never imports a schema library.
 */
import type { StandardJSONSchemaV1, StandardSchemaV1 } from '@standard-schema/spec'
import { ValidationError, type ValidationIssue } from './errors'

export type { StandardSchemaV1 }

/**
 * Validates `value` and returns the schema's output, or throws a ValidationError listing every issue.
 * Synchronous schemas stay synchronous so the hot path does not pay for a promise.
 */
export function validate<S extends StandardSchemaV1>(
  schema: S,
  value: unknown,
  what: string,
): StandardSchemaV1.InferOutput<S> | Promise<StandardSchemaV1.InferOutput<S>> {
  const result = schema['~standard'].validate(value)
  if (result instanceof Promise) return result.then((r) => unwrap(r, what))
  return unwrap(result, what)
}

function unwrap<T>(result: StandardSchemaV1.Result<T>, what: string): T {
  if (!result.issues) return result.value
  const issues = result.issues.map(toIssue)
  const summary = issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join('; ')
  throw new ValidationError(`${what} failed validation: ${summary}`, issues)
}

function toIssue(issue: StandardSchemaV1.Issue): ValidationIssue {
  const path = (issue.path ?? [])
    .map((segment) => String(typeof segment === 'object' ? segment.key : segment))
    .join('.')
  return { path, message: issue.message }
}

/** The JSON Schema of what a schema accepts, when its library implements Standard JSON Schema; else null. */
export function inputJsonSchema(schema: StandardSchemaV1 | null): Record<string, unknown> | null {
  const converter = (schema?.['~standard'] as Partial<StandardJSONSchemaV1.Props> | undefined)?.jsonSchema
  if (!converter) return null
  try {
    return converter.input({ target: 'draft-2020-12' })
  } catch {
    return null
  }
}
