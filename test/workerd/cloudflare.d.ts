/**
 * The few declarations of the workerd test modules these tests use. The full `@cloudflare/workers-types` would
 * clash with the DOM types the rest of the project compiles against, so only what is used is declared here.
 */
declare module 'cloudflare:test' {
  import type { ExecutionContext } from 'hono'

  export function createExecutionContext(): ExecutionContext
  export function waitOnExecutionContext(ctx: ExecutionContext): Promise<void>
  export function createScheduledController(options?: { scheduledTime?: Date | number; cron?: string }): {
    readonly scheduledTime: number
    readonly cron: string
    noRetry(): void
  }
}

declare module 'cloudflare:workers' {
  import type { WorkerEnv } from '../../src/runtime/env-keys'

  export const env: WorkerEnv & Record<string, unknown>
  export const exports: { default: { fetch(request: Request | string, init?: RequestInit): Promise<Response> } }
}
