/**
 * OpenTelemetry for the Node server (README, "Traces"): registers a tracer provider that exports the engine's spans
 * over OTLP/HTTP (JSON). Load it before the server: `npx tsx --import ./examples/tracing.ts src/node.ts`, or, built,
 * `node --import ./tracing.js server.js`. The exporter reads OTEL_EXPORTER_OTLP_TRACES_ENDPOINT (default
 * http://localhost:4318/v1/traces) and the batch processor OTEL_BSP_SCHEDULE_DELAY (default 5000 ms), per the
 * OpenTelemetry environment variables. Tested by test/examples/tracing.test.ts.
 */
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http'
import { resourceFromAttributes } from '@opentelemetry/resources'
import { BatchSpanProcessor, NodeTracerProvider } from '@opentelemetry/sdk-trace-node'

const provider = new NodeTracerProvider({
  resource: resourceFromAttributes({ 'service.name': process.env.OTEL_SERVICE_NAME ?? 'gorkflow' }),
  spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter())],
})
// The global provider, AsyncLocalStorage context and W3C trace-context propagation: what the engine's spans need.
provider.register()
// Sends the spans still batched. The server exits once it has closed, so spans of its last moments may be lost.
process.once('SIGTERM', () => void provider.shutdown())
