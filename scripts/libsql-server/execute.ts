/**
 * @module
 * Runs the requests of a pipeline on a stream's connection: `execute`, conditional `batch` steps, `sequence`,
 * stored SQL texts and `get_autocommit`. SQL failures become per-statement errors; malformed requests that only
 * show while running (a condition on a later step) are protocol errors.
 */
import type { StatementCache } from '../../src/store/libsql/statement-cache'
import type { PooledConnection } from './locks'
import {
  ProtocolError,
  StatementError,
  encodeValue,
  sqliteError,
  toProtoError,
  type ProtoBatchStep,
  type ProtoCond,
  type ProtoError,
  type ProtoRequest,
  type ProtoStmt,
  type StmtResult,
} from './protocol'
import { bindArguments, scanSql } from './sql-scan'

/** One Hrana stream: a connection plus the SQL texts stored on it. */
export class Stream {
  readonly sqls = new Map<number, string>()
  baton: string | null = null
  timer: NodeJS.Timeout | null = null
  closed = false
  constructor(readonly connection: PooledConnection) {}

  get inTransaction(): boolean {
    return this.connection.db.inTransaction
  }
}

type Row = unknown[]

/** Executes one request of a pipeline on its stream. @throws StatementError for SQL failures */
export function runRequest(stream: Stream, request: ProtoRequest): unknown {
  switch (request.type) {
    case 'close':
      stream.closed = true
      return { type: 'close' }
    case 'execute':
      return { type: 'execute', result: executeStmt(stream, request.stmt) }
    case 'batch':
      return { type: 'batch', result: executeBatch(stream, request.batch.steps) }
    case 'sequence': {
      const text = resolveSql(stream, request.sql, request.sql_id)
      try {
        stream.connection.db.exec(text)
      } catch (err) {
        throw sqliteError(err)
      } finally {
        // The texts may have changed the schema a cached statement's columns were read from.
        stream.connection.statements.clear()
      }
      return { type: 'sequence' }
    }
    case 'describe':
      throw new StatementError('describe is not supported by this endpoint', 'NOT_SUPPORTED')
    case 'store_sql':
      stream.sqls.set(request.sql_id, request.sql)
      return { type: 'store_sql' }
    case 'close_sql':
      stream.sqls.delete(request.sql_id)
      return { type: 'close_sql' }
    case 'get_autocommit':
      return { type: 'get_autocommit', is_autocommit: !stream.inTransaction }
  }
}

function executeBatch(
  stream: Stream,
  steps: ProtoBatchStep[],
): { step_results: (StmtResult | null)[]; step_errors: (ProtoError | null)[] } {
  const stepResults: (StmtResult | null)[] = []
  const stepErrors: (ProtoError | null)[] = []
  const outcome: ('ok' | 'error' | 'skipped')[] = []
  const holds = (cond: ProtoCond, current: number): boolean => {
    switch (cond.type) {
      case 'ok':
      case 'error':
        if (cond.step >= current) {
          throw new ProtocolError(`a condition of batch step ${current} refers to step ${cond.step}, which runs later`)
        }
        return outcome[cond.step] === cond.type
      case 'not':
        return !holds(cond.cond, current)
      case 'and':
        return cond.conds.every((c) => holds(c, current))
      case 'or':
        return cond.conds.some((c) => holds(c, current))
      case 'is_autocommit':
        return !stream.inTransaction
    }
  }
  steps.forEach((step, index) => {
    if (step.condition != null && !holds(step.condition, index)) {
      stepResults.push(null)
      stepErrors.push(null)
      outcome.push('skipped')
      return
    }
    try {
      stepResults.push(executeStmt(stream, step.stmt))
      stepErrors.push(null)
      outcome.push('ok')
    } catch (err) {
      if (err instanceof ProtocolError) throw err
      stepResults.push(null)
      stepErrors.push(toProtoError(err))
      outcome.push('error')
    }
  })
  return { step_results: stepResults, step_errors: stepErrors }
}

function executeStmt(stream: Stream, stmt: ProtoStmt): StmtResult {
  const text = resolveSql(stream, stmt.sql, stmt.sql_id)
  const shape = scanSql(text)
  if (shape.statements === 0) throw new StatementError('the SQL text contains no statement', 'SQL_NO_STATEMENT')
  if (shape.statements > 1) {
    throw new StatementError(
      'the SQL text contains more than one statement; use a batch or a sequence',
      'SQL_MANY_STATEMENTS',
    )
  }
  const { anonymous, named } = bindArguments(shape.params, stmt.args ?? [], stmt.named_args ?? [])
  const { statements } = stream.connection
  try {
    const { statement, columns } = statements.prepare(text)
    if (columns !== null) {
      const cols = columns.names.map((name, i) => ({ name, decltype: columns.types[i] ?? null }))
      const before = totalChanges(statements)
      const rows = statement.all(...anonymous, named) as Row[]
      // RETURNING statements are readers too; the total-changes counter tells whether this one wrote.
      const wrote = totalChanges(statements) !== before
      const [affected, rowid] = wrote ? changesAndRowid(statements) : [0, null]
      return {
        cols,
        rows: stmt.want_rows === false ? [] : rows.map((row) => row.map(encodeValue)),
        affected_row_count: affected,
        last_insert_rowid: rowid,
      }
    }
    const info = statement.run(...anonymous, named)
    return {
      cols: [],
      rows: [],
      affected_row_count: info.changes,
      last_insert_rowid: String(info.lastInsertRowid),
    }
  } catch (err) {
    if (err instanceof StatementError || err instanceof ProtocolError) throw err
    throw sqliteError(err)
  }
}

function totalChanges(statements: StatementCache): bigint {
  const row = statements.prepare('SELECT total_changes()').statement.get() as Row
  return row[0] as bigint
}

function changesAndRowid(statements: StatementCache): [number, string] {
  const row = statements.prepare('SELECT changes(), last_insert_rowid()').statement.get() as Row
  return [Number(row[0]), String(row[1])]
}

function resolveSql(stream: Stream, sql: string | undefined, sqlId: number | undefined): string {
  if (sql !== undefined) return sql
  const stored = sqlId === undefined ? undefined : stream.sqls.get(sqlId)
  if (stored === undefined) throw new StatementError(`no SQL text is stored under sql_id ${sqlId}`, 'SQL_ID_UNKNOWN')
  return stored
}
