/**
 * The part of Cloudflare Workflows' API (`cloudflare:workers`) the peer uses, declared here because the full
 * `@cloudflare/workers-types` would clash with the DOM types the project compiles against (as in
 * test/workerd/cloudflare.d.ts, whose declarations of the same module these merge with).
 */
declare module 'cloudflare:workers' {
  export interface WorkflowEvent<P> {
    readonly payload: Readonly<P>
    readonly timestamp: Date
    readonly instanceId: string
  }

  export interface WorkflowStep {
    do<T>(name: string, callback: () => Promise<T>): Promise<T>
  }

  export abstract class WorkflowEntrypoint<Env = unknown, P = unknown> {
    protected readonly env: Env
    constructor(ctx: unknown, env: Env)
    abstract run(event: Readonly<WorkflowEvent<P>>, step: WorkflowStep): Promise<unknown>
  }
}
