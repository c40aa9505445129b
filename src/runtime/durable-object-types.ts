/**
 * @module
 * The few Durable Object types the Worker uses, declared structurally: `@cloudflare/workers-types` would clash
 * with the DOM types the rest of the project compiles against (as in test/workerd/cloudflare.d.ts).
 */

/** A Durable Object namespace binding (wrangler.toml's `[[durable_objects.bindings]]`). */
export interface DurableObjectNamespaceLike {
  idFromName(name: string): unknown
  get(id: unknown): { fetch(request: Request): Promise<Response> }
}

/** What a Durable Object's constructor receives as its state: the storage used here. */
export interface DurableObjectStateLike {
  readonly storage: {
    get<T>(key: string): Promise<T | undefined>
    put(key: string, value: unknown): Promise<void>
    deleteAll(): Promise<void>
    getAlarm(): Promise<number | null>
    setAlarm(scheduledTime: number): Promise<void>
    deleteAlarm(): Promise<void>
  }
}
