/**
 * @module
 * The package entry (`gorkflow`): the engine, typed steps and workflows, errors, the store interface, the memory
 * store, and the Hono app. Everything here runs on Cloudflare Workers (without `nodejs_compat`) and on Node.
 *
 * Stores and runtimes have their own entries, so a Worker bundle never pulls in Node-only code or the AWS SDK:
 * `gorkflow/libsql` (HTTP), `gorkflow/libsql/node` (`createLibSQLStore`, embedded `file:` databases),
 * `gorkflow/dynamodb`, `gorkflow/worker` (`createWorker`) and `gorkflow/node` (`startNodeServer`); see
 * `src/package/` and the README's "Your own workflows".
 */

// Engine
export { Engine } from './core/engine'
export type { ChildRunSummary, EngineOptions, StartOptions, StartResult, SweepOptions, SweepResult } from './core/engine'
export type { ScheduleView } from './core/scheduled-starts'
export { CHILD_RECHECK_MS } from './core/child-run'
export { DEFAULT_MAP_CONCURRENCY, MAX_MAP_CONCURRENCY, MAX_MAP_ITEMS, mapItemId } from './core/map-items'
export type { MapItemCounts } from './core/map-items'
export { SCHEDULE_GRACE_MS } from './core/schedule'
export type { MissedTicks, Schedule, ScheduleOptions } from './core/schedule'
export type { ExecutionOptions, FinishedAttempt } from './core/run-execution'
export { ceilingForRecords, DEFAULT_PAYLOAD_LIMITS, MAX_ERROR_DETAILS_LENGTH, MAX_ERROR_MESSAGE_LENGTH } from './core/limits'
export type { PayloadCeiling, PayloadKind, PayloadLimits } from './core/limits'

// Steps and workflows
export { defineStep } from './core/step'
export type { AnyStep, RunState, Step, StepContext, StepDeps, StepLogger, StepOutput } from './core/step'
export { MAX_STEPS, workflow, WorkflowBuilder, validateGraph } from './core/workflow'
export type {
  AnyWorkflow,
  ChildInput,
  ChildOptions,
  MapItem,
  MapOptions,
  NodeMap,
  SkipDefault,
  StepCondition,
  WorkflowConfig,
  WorkflowDefinition,
  WorkflowNode,
  WorkflowOptions,
} from './core/workflow'
export { DURABILITY_MODES, type Durability, type StepConfig } from './core/step-config'
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
  MigrationRefusedError,
  NonRetryableError,
  PayloadTooLargeError,
  RunAlreadyExistsError,
  RunAlreadyFinishedError,
  RunNotFoundError,
  RunStateConflictError,
  ScheduleNotFoundError,
  StateNotFoundError,
  StepExecutionNotFoundError,
  StepOutputNotFoundError,
  StoreUnavailableError,
  ValidationError,
  WorkflowNotFoundError,
  WorkflowVersionNotFoundError,
  isGorkflowError,
  toError,
} from './core/errors'
export type { ErrorCode, MigrationMismatch, ValidationIssue } from './core/errors'
export type { Inventory, VersionInventory, WorkflowInventory } from './core/version-inventory'
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
  SchedulePatch,
  ScheduleState,
  StoreKind,
  WorkflowStore,
} from './core/store'
export { MemoryStore } from './store/memory/memory-store'

// HTTP
export { OperatorMetrics, STEP_DURATION_BUCKETS_MS } from './http/operator-metrics'
export { createApp, DEFAULT_MAX_BODY_BYTES, DEFAULT_WAIT_BUDGET_MS, type AppOptions, type AppType } from './http/app'
export { parseApiTokens } from './http/auth'
export { HTTP_ERROR_CODES, STATUS_BY_CODE, type ErrorBody, type HttpErrorCode } from './http/errors'
export type { RunView, StepView, VersionView, WorkflowSummaryView, WorkflowView } from './http/views'
export { createUiApp, type UiAppOptions } from './http/ui/ui-app'
