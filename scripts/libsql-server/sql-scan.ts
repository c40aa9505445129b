/**
 * @module
 * Just enough SQL lexing for the endpoint: where a statement's parameters are and how many statements a text
 * holds, and binding Hrana's positional and named arguments to those parameters by SQLite's numbering rules.
 */
import { StatementError, decodeValue, type ProtoValue, type SqlValue } from './protocol'

/** A parameter occurrence in SQL text: `?`, `?NNN`, or `:name` / `@name` / `$name` (name with its prefix). */
export type ParamToken = { kind: 'next' } | { kind: 'numbered'; index: number } | { kind: 'named'; name: string }

/**
 * Arguments as better-sqlite3 binds them: `anonymous` fills the `?` parameters in order, `named` the others by
 * name without prefix (`?NNN` under `NNN`).
 */
export interface BoundArguments {
  readonly anonymous: SqlValue[]
  readonly named: Record<string, SqlValue>
}

/**
 * Binds Hrana arguments by SQLite's numbering rules: `?` takes the next index, `?NNN` index NNN, a name the next
 * index at its first occurrence; positional arguments fill indexes from 1 and named ones their names. A parameter
 * left without a value is NULL, as in SQLite.
 * @throws StatementError when there are more positional arguments than parameters
 */
export function bindArguments(
  params: ParamToken[],
  args: ProtoValue[],
  namedArgs: { name: string; value: ProtoValue }[],
): BoundArguments {
  const values: SqlValue[] = args.map(decodeValue)
  const byName = new Map<string, SqlValue>()
  for (const { name, value } of namedArgs) byName.set(stripPrefix(name), decodeValue(value))
  const anonymous: SqlValue[] = []
  const named: Record<string, SqlValue> = {}
  let highest = 0
  for (const param of params) {
    if (param.kind === 'next') {
      highest++
      anonymous.push(values[highest - 1] ?? null)
    } else if (param.kind === 'numbered') {
      highest = Math.max(highest, param.index)
      named[String(param.index)] = values[param.index - 1] ?? null
    } else {
      const name = stripPrefix(param.name)
      if (Object.hasOwn(named, name)) continue
      highest++
      named[name] = byName.get(name) ?? values[highest - 1] ?? null
    }
  }
  if (values.length > highest) {
    throw new StatementError(`${values.length} arguments for ${highest} parameters`, 'ARGS_INVALID')
  }
  return { anonymous, named }
}

function stripPrefix(name: string): string {
  return /^[:@$]/.test(name) ? name.slice(1) : name
}

/**
 * Lexes SQL text just enough to find its parameters and count its statements, skipping string literals,
 * quoted identifiers and comments. Semicolons inside `CREATE TRIGGER … END` do not end the statement.
 */
export function scanSql(text: string): { params: ParamToken[]; statements: number } {
  const params: ParamToken[] = []
  let statements = 0
  let inStatement = false
  let words: string[] = []
  let i = 0
  const n = text.length
  const startToken = (): void => {
    if (!inStatement) {
      inStatement = true
      statements++
      words = []
    }
  }
  while (i < n) {
    const c = text[i] as string
    if (c === '-' && text[i + 1] === '-') {
      const end = text.indexOf('\n', i)
      i = end === -1 ? n : end + 1
    } else if (c === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2)
      i = end === -1 ? n : end + 2
    } else if (c === "'" || c === '"' || c === '`' || c === '[') {
      startToken()
      const close = c === '[' ? ']' : c
      let j = i + 1
      while (j < n) {
        if (text[j] === close) {
          if (close !== ']' && text[j + 1] === close) j += 2
          else break
        } else j++
      }
      i = j + 1
    } else if (c === ';') {
      const trigger = words[0] === 'CREATE' && words.slice(1, 4).includes('TRIGGER')
      if (!trigger || words.at(-1) === 'END') inStatement = false
      i++
    } else if (/\s/.test(c)) {
      i++
    } else if (c === '?') {
      startToken()
      let j = i + 1
      while (j < n && /[0-9]/.test(text[j] as string)) j++
      params.push(j > i + 1 ? { kind: 'numbered', index: Number(text.slice(i + 1, j)) } : { kind: 'next' })
      i = j
    } else if ((c === ':' || c === '@' || c === '$') && /[A-Za-z0-9_]/.test(text[i + 1] ?? '')) {
      startToken()
      let j = i + 1
      while (j < n && /[A-Za-z0-9_$]/.test(text[j] as string)) j++
      params.push({ kind: 'named', name: text.slice(i, j) })
      i = j
    } else if (/[A-Za-z_]/.test(c)) {
      startToken()
      let j = i + 1
      while (j < n && /[A-Za-z0-9_$]/.test(text[j] as string)) j++
      if (words.length < 8) words.push(text.slice(i, j).toUpperCase())
      else words[7] = text.slice(i, j).toUpperCase()
      i = j
    } else {
      startToken()
      i++
    }
  }
  return { params, statements }
}
