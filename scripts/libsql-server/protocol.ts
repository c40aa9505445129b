/**
 * @module
 * Hrana v2 over HTTP as JSON (`POST /v2/pipeline`): the request and value shapes the endpoint accepts, their
 * validation (everything is checked before anything runs), and how values and errors are encoded. No I/O.
 */

/** Refusals of a request as a whole: HTTP 400 (or `status`) with `{ message, code }`, nothing executed. */
export class ProtocolError extends Error {
  constructor(
    message: string,
    readonly code = 'PROTOCOL_ERROR',
    readonly status = 400,
  ) {
    super(message)
  }
}

/** A failure of one statement (SQL or its arguments): reported in that statement's result. */
export class StatementError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message)
  }
}

/** Hrana value, as JSON. */
export type ProtoValue =
  | { type: 'null' }
  | { type: 'integer'; value: string }
  | { type: 'float'; value: number }
  | { type: 'text'; value: string }
  | { type: 'blob'; base64: string }

export interface ProtoStmt {
  sql?: string
  sql_id?: number
  args?: ProtoValue[]
  named_args?: { name: string; value: ProtoValue }[]
  want_rows?: boolean
}

export type ProtoCond =
  | { type: 'ok'; step: number }
  | { type: 'error'; step: number }
  | { type: 'not'; cond: ProtoCond }
  | { type: 'and'; conds: ProtoCond[] }
  | { type: 'or'; conds: ProtoCond[] }
  | { type: 'is_autocommit' }

export interface ProtoBatchStep {
  condition?: ProtoCond | null
  stmt: ProtoStmt
}

export type ProtoRequest =
  | { type: 'close' }
  | { type: 'execute'; stmt: ProtoStmt }
  | { type: 'batch'; batch: { steps: ProtoBatchStep[] } }
  | { type: 'sequence'; sql?: string; sql_id?: number }
  | { type: 'describe'; sql?: string; sql_id?: number }
  | { type: 'store_sql'; sql_id: number; sql: string }
  | { type: 'close_sql'; sql_id: number }
  | { type: 'get_autocommit' }

export interface StmtResult {
  cols: { name: string; decltype: string | null }[]
  rows: ProtoValue[][]
  affected_row_count: number
  last_insert_rowid: string | null
}

export interface ProtoError {
  message: string
  code: string
}

/** A value as the engine binds and returns it. */
export type SqlValue = null | bigint | number | string | Buffer

const REQUEST_TYPES = [
  'close',
  'execute',
  'batch',
  'sequence',
  'describe',
  'store_sql',
  'close_sql',
  'get_autocommit',
] as const

export function decodeValue(value: ProtoValue): SqlValue {
  switch (value.type) {
    case 'null':
      return null
    case 'integer':
      return BigInt(value.value)
    case 'float':
      return value.value
    case 'text':
      return value.value
    case 'blob':
      return Buffer.from(value.base64, 'base64')
  }
}

export function encodeValue(value: unknown): ProtoValue {
  if (value === null || value === undefined) return { type: 'null' }
  if (typeof value === 'bigint') return { type: 'integer', value: value.toString() }
  if (typeof value === 'number') return { type: 'float', value }
  if (typeof value === 'string') return { type: 'text', value }
  if (value instanceof Uint8Array) return { type: 'blob', base64: Buffer.from(value).toString('base64') }
  return { type: 'text', value: String(value) }
}

export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}

/** An engine error as a statement failure, with SQLite's extended code name when the engine gave one. */
export function sqliteError(err: unknown): StatementError {
  const code = typeof (err as { code?: unknown })?.code === 'string' ? (err as { code: string }).code : 'SQLITE_ERROR'
  return new StatementError(messageOf(err), code)
}

export function toProtoError(err: unknown): ProtoError {
  if (err instanceof StatementError || err instanceof ProtocolError) return { message: err.message, code: err.code }
  return sqliteError(err)
}

/** Validates a pipeline request body. @throws ProtocolError naming the first problem found */
export function parsePipeline(body: unknown): { baton: string | null; requests: ProtoRequest[] } {
  if (!isObject(body)) throw new ProtocolError('the request body must be a JSON object with a "requests" array')
  const baton = body.baton
  if (baton !== undefined && baton !== null && typeof baton !== 'string') {
    throw new ProtocolError('"baton" must be a string or null')
  }
  if (!Array.isArray(body.requests)) throw new ProtocolError('"requests" must be an array')
  const requests = body.requests.map((request, index) => parseRequest(request, `requests[${index}]`))
  return { baton: typeof baton === 'string' ? baton : null, requests }
}

function parseRequest(value: unknown, where: string): ProtoRequest {
  if (!isObject(value) || typeof value.type !== 'string') {
    throw new ProtocolError(`${where} must be an object with a string "type"`)
  }
  const type = value.type
  switch (type) {
    case 'close':
    case 'get_autocommit':
      return { type }
    case 'execute':
      return { type, stmt: parseStmt(value.stmt, `${where}.stmt`) }
    case 'batch': {
      const batch = value.batch
      if (!isObject(batch) || !Array.isArray(batch.steps)) {
        throw new ProtocolError(`${where}.batch must be an object with a "steps" array`)
      }
      const steps = batch.steps.map((step, i) => {
        const at = `${where}.batch.steps[${i}]`
        if (!isObject(step)) throw new ProtocolError(`${at} must be an object`)
        const condition = step.condition == null ? null : parseCond(step.condition, `${at}.condition`)
        return { condition, stmt: parseStmt(step.stmt, `${at}.stmt`) }
      })
      return { type, batch: { steps } }
    }
    case 'sequence':
    case 'describe':
      return { type, ...parseSqlRef(value, where) }
    case 'store_sql':
      if (typeof value.sql !== 'string') throw new ProtocolError(`${where}.sql must be a string`)
      return { type, sql_id: parseSqlId(value.sql_id, `${where}.sql_id`), sql: value.sql }
    case 'close_sql':
      return { type, sql_id: parseSqlId(value.sql_id, `${where}.sql_id`) }
    default:
      throw new ProtocolError(
        `${where} has unknown type ${JSON.stringify(type)}; this endpoint serves ${REQUEST_TYPES.join(', ')}`,
        'UNKNOWN_REQUEST_TYPE',
      )
  }
}

function parseStmt(value: unknown, where: string): ProtoStmt {
  if (!isObject(value)) throw new ProtocolError(`${where} must be an object`)
  const stmt: ProtoStmt = parseSqlRef(value, where)
  if (value.args != null) {
    if (!Array.isArray(value.args)) throw new ProtocolError(`${where}.args must be an array`)
    stmt.args = value.args.map((arg, i) => parseValue(arg, `${where}.args[${i}]`))
  }
  if (value.named_args != null) {
    if (!Array.isArray(value.named_args)) throw new ProtocolError(`${where}.named_args must be an array`)
    stmt.named_args = value.named_args.map((arg, i) => {
      const at = `${where}.named_args[${i}]`
      if (!isObject(arg) || typeof arg.name !== 'string') throw new ProtocolError(`${at} must have a string "name"`)
      return { name: arg.name, value: parseValue(arg.value, `${at}.value`) }
    })
  }
  if (value.want_rows != null) {
    if (typeof value.want_rows !== 'boolean') throw new ProtocolError(`${where}.want_rows must be a boolean`)
    stmt.want_rows = value.want_rows
  }
  return stmt
}

function parseSqlRef(value: Record<string, unknown>, where: string): { sql?: string; sql_id?: number } {
  if (typeof value.sql === 'string') return { sql: value.sql }
  if (value.sql_id != null) return { sql_id: parseSqlId(value.sql_id, `${where}.sql_id`) }
  throw new ProtocolError(`${where} needs "sql" (a string) or "sql_id"`)
}

function parseSqlId(value: unknown, where: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new ProtocolError(`${where} must be a non-negative integer`)
  }
  return value
}

function parseValue(value: unknown, where: string): ProtoValue {
  if (!isObject(value)) throw new ProtocolError(`${where} must be a value object`)
  switch (value.type) {
    case 'null':
      return { type: 'null' }
    case 'integer':
      if (typeof value.value !== 'string' || !/^-?\d{1,19}$/.test(value.value)) {
        throw new ProtocolError(`${where}.value must be a decimal integer string`)
      }
      if (BigInt(value.value) > 9223372036854775807n || BigInt(value.value) < -9223372036854775808n) {
        throw new ProtocolError(`${where}.value is outside the 64-bit integer range`)
      }
      return { type: 'integer', value: value.value }
    case 'float':
      if (typeof value.value !== 'number') throw new ProtocolError(`${where}.value must be a number`)
      return { type: 'float', value: value.value }
    case 'text':
      if (typeof value.value !== 'string') throw new ProtocolError(`${where}.value must be a string`)
      return { type: 'text', value: value.value }
    case 'blob':
      if (typeof value.base64 !== 'string') throw new ProtocolError(`${where}.base64 must be a string`)
      return { type: 'blob', base64: value.base64 }
    default:
      throw new ProtocolError(`${where}.type must be one of null, integer, float, text, blob`)
  }
}

function parseCond(value: unknown, where: string): ProtoCond {
  if (!isObject(value)) throw new ProtocolError(`${where} must be an object`)
  switch (value.type) {
    case 'ok':
    case 'error':
      return { type: value.type, step: parseSqlId(value.step, `${where}.step`) }
    case 'not':
      return { type: 'not', cond: parseCond(value.cond, `${where}.cond`) }
    case 'and':
    case 'or':
      if (!Array.isArray(value.conds)) throw new ProtocolError(`${where}.conds must be an array`)
      return { type: value.type, conds: value.conds.map((c, i) => parseCond(c, `${where}.conds[${i}]`)) }
    case 'is_autocommit':
      return { type: 'is_autocommit' }
    default:
      throw new ProtocolError(`${where}.type must be one of ok, error, not, and, or, is_autocommit`)
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
