/**
 * @module
 * The Worker of the workerd-otel tests: `src/worker.ts`'s, wrapped by `@microlabs/otel-cf-workers` exactly as the
 * README's Workers setup says, exporting over OTLP/HTTP to the receiver of test/workerd/global-setup.ts.
 */
import { instrument, instrumentDO, type ResolveConfigFn } from '@microlabs/otel-cf-workers'
import { createWorker, type WorkerEnv } from '../../src/runtime/create-worker'
import { registeredWorkflows } from '../../src/registry'
import type { DurableObjectStateLike } from '../../src/runtime/durable-object-types'

interface TracedEnv extends WorkerEnv {
  readonly OTLP_TRACES_URL: string
}

const worker = createWorker<TracedEnv>({ workflows: registeredWorkflows })

const config: ResolveConfigFn<TracedEnv> = (env) => ({
  exporter: { url: env.OTLP_TRACES_URL },
  service: { name: 'gorkflow' },
})

export default instrument(worker, config)

const TracedRunAlarm = instrumentDO(worker.RunAlarm, config)

/**
 * Test harness only: vitest-pool-workers invokes a Durable Object's methods as `instance[key].apply(instance, args)`,
 * and otel-cf-workers' method proxies pass `.apply` through to the bare method, skipping its instrumentation (and
 * `this` is then its proxy, on which the class's private fields fail). workerd itself calls `instance.alarm()`, which
 * this forwarder does too. In a deployed Worker, export `instrumentDO(worker.RunAlarm, config)` as `RunAlarm`.
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
