/**
 * @module
 * The Worker of the workerd-otel tests: examples/worker-tracing.ts, the README's Workers tracing setup, exporting
 * over OTLP/HTTP to the receiver of test/workerd/global-setup.ts (vitest.config.ts binds the endpoint).
 */
import traced, { RunAlarm as TracedRunAlarm, type TracedEnv } from '../../examples/worker-tracing'
import type { DurableObjectStateLike } from '../../src/runtime/durable-object-types'

export default traced

/**
 * Test harness only: vitest-pool-workers invokes a Durable Object's methods as `instance[key].apply(instance, args)`,
 * and otel-cf-workers' method proxies pass `.apply` through to the bare method, skipping its instrumentation (and
 * `this` is then its proxy, on which the class's private fields fail). workerd itself calls `instance.alarm()`, which
 * this forwarder does too; a deployed Worker exports the instrumented class itself (examples/worker-tracing.ts).
 */
export class RunAlarm {
  readonly #traced: InstanceType<typeof TracedRunAlarm>

  constructor(state: DurableObjectStateLike, env: TracedEnv) {
    this.#traced = new TracedRunAlarm(state as never, env)
  }

  fetch(request: Request): Promise<Response> {
    return this.#traced.fetch!(request as never) as unknown as Promise<Response>
  }

  alarm(): Promise<void> {
    return this.#traced.alarm!() as Promise<void>
  }
}
