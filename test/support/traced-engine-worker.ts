/**
 * @module
 * A child process for `test/durability/traces-across-processes.test.ts`: an Engine on a LibSQL file whose spans go
 * to a JSON-lines file (one line per ended span, written synchronously, so a killed process loses only spans it
 * never ended). Usage: `node --import tsx traced-engine-worker.ts DB SPANS start|sweep`.
 * `start` begins a run whose second step never returns, prints `hanging <runId>` and waits to be killed;
 * `sweep` sweeps until no run is due and prints `done`.
 */
import { appendFileSync } from 'node:fs'
import { BasicTracerProvider, SimpleSpanProcessor, type ReadableSpan, type SpanExporter } from '@opentelemetry/sdk-trace-base'
import { z } from 'zod'
import { Engine } from '../../src/core/engine'
import { defineStep } from '../../src/core/step'
import { workflow } from '../../src/core/workflow'
import { createLibSQLStore } from '../../src/store/libsql/create-libsql-store'

/** Short, so the sweeping process may claim the killed one's run soon. */
const LEASE_MS = 300

function fileExporter(path: string): SpanExporter {
  return {
    export(spans: ReadableSpan[], done) {
      for (const span of spans) {
        const line = {
          pid: process.pid,
          name: span.name,
          traceId: span.spanContext().traceId,
          spanId: span.spanContext().spanId,
          parentSpanId: span.parentSpanContext?.spanId ?? null,
          attributes: span.attributes,
          events: span.events.map((event) => ({ name: event.name, attributes: event.attributes })),
        }
        appendFileSync(path, `${JSON.stringify(line)}\n`)
      }
      done({ code: 0 })
    },
    shutdown: async () => {},
  }
}

async function main(): Promise<void> {
  const [db, spans, mode] = process.argv.slice(2)
  if (db === undefined || spans === undefined || (mode !== 'start' && mode !== 'sweep')) {
    throw new Error('usage: traced-engine-worker.ts DB SPANS start|sweep')
  }
  const tracer = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(fileExporter(spans))] }).getTracer('gorkflow')
  const payload = z.object({ secret: z.string() })
  let started: () => void = () => {}
  const hanging = new Promise<void>((resolve) => (started = resolve))
  const first = defineStep({ id: 'first', input: payload, output: payload, handler: (_ctx, value) => value })
  const second = defineStep({
    id: 'second',
    input: payload,
    output: z.object({ ok: z.boolean() }),
    handler: () => {
      if (mode === 'start') {
        started()
        return new Promise<never>(() => {})
      }
      return { ok: true }
    },
  })
  const wf = workflow({ id: 'traced', input: payload }).then(first).then(second).build()
  const store = await createLibSQLStore({ url: `file:${db}` })
  const engine = new Engine({ store, workflows: [wf], tracer, leaseMs: LEASE_MS, ownerId: `engine-${mode}` })
  if (mode === 'start') {
    const begun = await engine.begin('traced', { secret: 'payload-secret-5d1e' })
    await hanging
    process.stdout.write(`hanging ${begun.run.runId}\n`)
    await new Promise(() => {})
  }
  for (let round = 0; round < 10_000; round++) {
    await engine.resumeDue()
    if ((await store.nextDueAt()) === null) break
    await new Promise((r) => setTimeout(r, 20))
  }
  await engine.shutdown()
  await store.close()
  process.stdout.write('done\n')
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`)
  process.exit(1)
})
