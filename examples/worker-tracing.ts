/**
 * OpenTelemetry on Cloudflare Workers (README, "Traces"): `src/worker.ts`'s Worker with its handlers wrapped by
 * `@microlabs/otel-cf-workers`' `instrument()` and the run-alarm Durable Object by `instrumentDO()`, exporting over
 * OTLP/HTTP (JSON) to OTEL_EXPORTER_OTLP_TRACES_ENDPOINT. Deploy it with examples/wrangler.tracing.toml, which adds
 * the `nodejs_compat` flag the library needs and the alias of examples/semconv-incubating.mjs. Tested under
 * `wrangler dev` by test/e2e/worker-tracing.test.ts, and in workerd by test/workerd-otel/otel.test.ts.
 */
import { instrument, instrumentDO, type ResolveConfigFn } from '@microlabs/otel-cf-workers'
import { createWorker } from '../src/runtime/create-worker'
import type { WorkerEnv } from '../src/runtime/env-keys'
import { registeredWorkflows } from '../src/registry'

export interface TracedEnv extends WorkerEnv {
  /** e.g. `https://otlp.example.com/v1/traces` */
  readonly OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: string
  /** Sent as `Authorization` with each export, when set (a secret: `wrangler secret put`). */
  readonly OTEL_EXPORTER_OTLP_AUTHORIZATION?: string
}

const worker = createWorker<TracedEnv>({ workflows: registeredWorkflows })

/** Read per event from the bindings; the library registers its tracer provider once per isolate. */
export const tracingConfig: ResolveConfigFn<TracedEnv> = (env) => ({
  exporter: {
    url: env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT,
    ...(env.OTEL_EXPORTER_OTLP_AUTHORIZATION ? { headers: { Authorization: env.OTEL_EXPORTER_OTLP_AUTHORIZATION } } : {}),
  },
  service: { name: 'gorkflow' },
})

export default instrument(worker, tracingConfig)
// Both, or neither: once a handler has registered the library's provider in an isolate, a span started outside
// its handlers (an uninstrumented alarm running the engine) throws "Config is undefined".
export const RunAlarm = instrumentDO(worker.RunAlarm, tracingConfig)
