/**
 * The README's Node tracing setup, run for real: the Node server (`src/node.ts`) started with
 * `--import ./examples/tracing.ts` (NodeTracerProvider, BatchSpanProcessor, OTLP/HTTP exporter) exports a run's
 * spans to a tiny OTLP/HTTP receiver on 127.0.0.1, under the trace of the start request's `traceparent`.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'
import { afterEach, expect, it } from 'vitest'
import { killAndWait } from '../support/local-server'

const REPO = fileURLToPath(new URL('../..', import.meta.url))
const TOKEN = 'tracing-example-token'
const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736'
const CALLER_SPAN_ID = '00f067aa0ba902b7'

/** A span as OTLP/HTTP JSON carries it (ids in hex), with its resource's service name. */
interface OtlpSpan {
  readonly service: unknown
  readonly name: string
  readonly traceId: string
  readonly spanId: string
  readonly parentSpanId?: string
  readonly attributes: Record<string, unknown>
}

interface OtlpAttribute {
  readonly key: string
  readonly value: Record<string, unknown>
}

let receiver: Server | undefined
let child: ChildProcess | undefined
afterEach(async () => {
  if (child) await killAndWait(child)
  child = undefined
  await new Promise((resolve) => (receiver ? receiver.close(resolve) : resolve(undefined)))
  receiver = undefined
})

/** The first value of an OTLP AnyValue (`{ stringValue }`, `{ intValue }`, …). */
const valueOf = (value: Record<string, unknown>): unknown => Object.values(value)[0]
const attributesOf = (list: readonly OtlpAttribute[] = []) => Object.fromEntries(list.map((a) => [a.key, valueOf(a.value)]))

/** An OTLP/HTTP receiver for traces in JSON, as the collector's `otlphttp` receiver would take them. */
async function startReceiver(): Promise<{ url: string; spans: OtlpSpan[]; contentTypes: string[] }> {
  const spans: OtlpSpan[] = []
  const contentTypes: string[] = []
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      contentTypes.push(String(req.headers['content-type']))
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
        resourceSpans: { resource: { attributes: OtlpAttribute[] }; scopeSpans: { spans: (OtlpSpan & { attributes: OtlpAttribute[] })[] }[] }[]
      }
      for (const { resource, scopeSpans } of body.resourceSpans) {
        const service = attributesOf(resource.attributes)['service.name']
        for (const scope of scopeSpans) for (const span of scope.spans) spans.push({ ...span, service, attributes: attributesOf(span.attributes) })
      }
      res.setHeader('Content-Type', 'application/json')
      res.end('{}')
    })
  })
  await new Promise<void>((resolve) => (receiver as Server).listen(0, '127.0.0.1', resolve))
  return { url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/v1/traces`, spans, contentTypes }
}

it("exports a run's start, run and step spans over OTLP/HTTP, children of the caller's traceparent", async () => {
  const otlp = await startReceiver()
  child = spawn(process.execPath, ['--import', 'tsx', '--import', './examples/tracing.ts', 'src/node.ts'], {
    cwd: REPO,
    env: {
      ...process.env,
      STORE: 'memory',
      PORT: '0',
      API_TOKEN: TOKEN,
      LOG_LEVEL: 'warn',
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: otlp.url,
      OTEL_SERVICE_NAME: 'gorkflow-example-test',
      // Export each batch within 100 ms of its spans ending, instead of after 5 s.
      OTEL_BSP_SCHEDULE_DELAY: '100',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  await expect.poll(() => /listening on (\S+) /.exec(stdout)?.[1], { timeout: 25_000, interval: 50 }).toBeDefined()
  const url = /listening on (\S+) /.exec(stdout)?.[1]

  const res = await fetch(`${url}/v1/workflows/sequential/runs?wait=true`, {
    method: 'POST',
    headers: {
      Authorization: `Bearer ${TOKEN}`,
      'Content-Type': 'application/json',
      traceparent: `00-${TRACE_ID}-${CALLER_SPAN_ID}-01`,
    },
    body: JSON.stringify({ input: { val1: 1, val2: 2, mult: 3 } }),
  })
  expect(res.status).toBe(200)
  const { run } = (await res.json()) as { run: { runId: string; status: string } }
  expect(run.status).toBe('COMPLETED')

  // start + run + 3 steps (add, multiply, format), all in the caller's trace
  const inTrace = () => otlp.spans.filter((span) => span.traceId === TRACE_ID)
  await expect.poll(() => inTrace().length, { timeout: 20_000, interval: 50 }).toBe(5)
  const spans = inTrace()
  expect(otlp.spans).toHaveLength(5)
  expect(otlp.contentTypes.every((type) => type === 'application/json')).toBe(true)
  expect(new Set(spans.map((span) => span.service))).toEqual(new Set(['gorkflow-example-test']))

  const start = spans.find((span) => span.name === 'gorkflow.start sequential')
  const execution = spans.find((span) => span.name === 'gorkflow.run sequential')
  expect(start?.parentSpanId).toBe(CALLER_SPAN_ID)
  expect(execution?.parentSpanId).toBe(start?.spanId)
  expect(start?.attributes).toMatchObject({ 'gorkflow.workflow.id': 'sequential', 'gorkflow.run.id': run.runId })
  expect(execution?.attributes).toMatchObject({ 'gorkflow.run.id': run.runId, 'gorkflow.run.status': 'COMPLETED' })
  const steps = spans.filter((span) => span.name.startsWith('gorkflow.step '))
  expect(steps.map((span) => span.attributes['gorkflow.step.id']).sort()).toEqual(['add', 'format', 'multiply'])
  for (const step of steps) {
    expect(step.parentSpanId).toBe(execution?.spanId)
    expect(step.attributes).toMatchObject({ 'gorkflow.step.status': 'COMPLETED', 'gorkflow.step.attempt': 0 })
  }

  const exited = new Promise<number | null>((resolve) => child?.once('exit', resolve))
  child.kill('SIGTERM')
  expect(await exited).toBe(0)
  expect(stderr).not.toMatch(/error/i)
})
