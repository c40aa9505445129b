/**
 * @module
 * The package entry: the engine, typed steps and workflows, errors, the store interface with the stores that
 * run everywhere (memory, LibSQL over HTTP, DynamoDB), and the Hono app. Everything here bundles for Cloudflare
 * Workers without `nodejs_compat`.
 *
 * Node-only pieces live in their own modules so a Worker never pulls them in: `src/node.ts`
 * (`startNodeServer`) and `src/store/libsql/create-libsql-store.ts` (`createLibSQLStore`, embedded `file:`
 * databases); `src/worker.ts` has `createWorker` (it also default-exports the example Worker).
 */

// Engine
export { Engine } from './core/engine'
export type { EngineOptions, StartOptions, StartResult, SweepOptions, SweepResult } from './core/engine'
export type { ExecutionOptions } from './core/run-execution'

// Steps and workflows
export { defineStep } from './core/step'
export type { AnyStep, RunState, Step, StepContext, StepDeps, StepLogger, StepOutput } from './core/step'
export { workflow, WorkflowBuilder, validateGraph } from './core/workflow'
export type {
  AnyWorkflow,
  SkipDefault,
  StepCondition,
  WorkflowConfig,
  WorkflowDefinition,
  WorkflowNode,
  WorkflowOptions,
} from './core/workflow'
export type { StepConfig } from './core/step-config'
export { inputJsonSchema, type StandardSchemaV1 } from './core/schema'

// Records, errors, time and logs
export {
  BACKOFF_STRATEGIES,
  RUN_STATUSES,
  STEP_STATUSES,
  TERMINAL_RUN_STATUSES,
  isFinishedStepStatus,
  isTerminalRunStatus,
} from './core/model'
export type {
  BackoffStrategy,
  Json,
  RunRecord,
  RunStatus,
  StepError,
  StepExecution,
  StepStatus,
  TerminalRunStatus,
  WorkflowError,
} from './core/model'
export {
  ERROR_CODES,
  GorkflowError,
  InvalidArgumentError,
  InvalidCursorError,
  InvalidWorkflowError,
  LeaseLostError,
  NonRetryableError,
  PayloadTooLargeError,
  RunAlreadyExistsError,
  RunAlreadyFinishedError,
  RunNotFoundError,
  RunStateConflictError,
  StateNotFoundError,
  StepExecutionNotFoundError,
  StepOutputNotFoundError,
  StoreUnavailableError,
  ValidationError,
  WorkflowNotFoundError,
  isGorkflowError,
  toError,
} from './core/errors'
export type { ErrorCode, ValidationIssue } from './core/errors'
export { systemClock, type Clock } from './core/clock'
export { jsonLogger, parseLogLevel, silentLogger, type LogFields, type Logger, type LogLevel } from './core/logger'

// Stores
export { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from './core/store'
export type {
  Claim,
  CreateRunResult,
  Lease,
  RunCommit,
  RunFilter,
  RunPage,
  RunPatch,
  StoreKind,
  WorkflowStore,
} from './core/store'
export { MemoryStore } from './store/memory/memory-store'
export { LibSQLStore } from './store/libsql/libsql-store'
export { createRemoteLibSQLStore, type RemoteLibSQLStoreOptions } from './store/libsql/remote-libsql-store'
export { DynamoDBStore, createTable, type DynamoDBStoreOptions } from './store/dynamodb'

// HTTP
export { createApp, DEFAULT_MAX_BODY_BYTES, DEFAULT_WAIT_BUDGET_MS, type AppOptions, type AppType } from './http/app'
export { parseApiTokens } from './http/auth'
export { HTTP_ERROR_CODES, STATUS_BY_CODE, type ErrorBody, type HttpErrorCode } from './http/errors'
export type { RunView, StepView, WorkflowSummaryView, WorkflowView } from './http/views'
export { createUiApp, type UiAppOptions } from './http/ui/ui-app'
