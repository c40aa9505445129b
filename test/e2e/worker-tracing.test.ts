/**
 * End to end: examples/worker-tracing.ts (the README's Workers tracing setup: `@microlabs/otel-cf-workers`'
 * `instrument` and `instrumentDO`) bundled by wrangler with examples/wrangler.tracing.toml and run by
 * `wrangler dev` (scripts/dev.ts, local libSQL), exporting OTLP/HTTP JSON to a receiver on 127.0.0.1 in this test.
 * A run's spans arrive in the caller's trace, both from the request that ran it and from the Durable Object alarm
 * that ran an async start.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { type DevSession, drivenDevOptions, startDev } from '../../scripts/dev'
import { freePort } from '../support/local-server'

const TOKEN = 'e2e-tracing-token-51c0'
const INPUT = { val1: 1, val2: 2, mult: 3 }

interface Span {
  readonly name: string
  readonly traceId: string
  readonly spanId: string
  readonly parentSpanId: string | null
  readonly attributes: Record<string, unknown>
}

let dir: string
let session: DevSession | undefined
let receiver: Server | undefined
const spans: Span[] = []

beforeAll(async () => {
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      type Attr = { key: string; value: Record<string, unknown> }
      type Body = { resourceSpans?: { scopeSpans?: { spans?: (Omit<Span, 'attributes'> & { attributes?: Attr[] })[] }[] }[] }
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Body
      for (const { scopeSpans = [] } of body.resourceSpans ?? []) {
        for (const { spans: list = [] } of scopeSpans) {
          for (const span of list) {
            const attributes = Object.fromEntries((span.attributes ?? []).map((a) => [a.key, Object.values(a.value)[0]]))
            spans.push({ name: span.name, traceId: span.traceId, spanId: span.spanId, parentSpanId: span.parentSpanId || null, attributes })
          }
        }
      }
      res.setHeader('Content-Type', 'application/json')
      res.end('{}')
    })
  })
  await new Promise<void>((resolve) => (receiver as Server).listen(0, '127.0.0.1', resolve))
  dir = mkdtempSync(join(tmpdir(), 'gorkflow-e2e-tracing-'))
  session = await startDev(
    drivenDevOptions(dir, await freePort(), TOKEN, {
      config: 'examples/wrangler.tracing.toml',
      vars: { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/v1/traces` },
    }),
  )
}, 120_000)

afterAll(async () => {
  await session?.stop()
  await new Promise((resolve) => (receiver ? receiver.close(resolve) : resolve(undefined)))
  rmSync(dir, { recursive: true, force: true })
})

function callerTrace(): { traceId: string; spanId: string; traceparent: string } {
  const hex = (bytes: number) => [...crypto.getRandomValues(new Uint8Array(bytes))].map((b) => b.toString(16).padStart(2, '0')).join('')
  const traceId = hex(16)
  const spanId = hex(8)
  return { traceId, spanId, traceparent: `00-${traceId}-${spanId}-01` }
}

async function start(path: string, traceparent: string): Promise<{ status: number; run: { runId: string; status: string } }> {
  const res = await fetch(`${session!.url}${path}`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json', traceparent },
    body: JSON.stringify({ input: INPUT }),
  })
  return { status: res.status, run: ((await res.json()) as { run: { runId: string; status: string } }).run }
}

const engineSpans = (traceId: string) => spans.filter((span) => span.traceId === traceId && span.name.startsWith('gorkflow.'))

/** The start span under the caller's, one run span under it, and three step spans under that. */
function expectOneTrace(traceId: string, callerSpanId: string, runId: string): void {
  const all = engineSpans(traceId)
  const start = all.filter((span) => span.name === 'gorkflow.start sequential')
  const execution = all.filter((span) => span.name === 'gorkflow.run sequential')
  expect(start).toHaveLength(1)
  expect(start[0]).toMatchObject({ parentSpanId: callerSpanId, attributes: { 'gorkflow.run.id': runId } })
  expect(execution).toHaveLength(1)
  expect(execution[0]).toMatchObject({ parentSpanId: start[0]?.spanId, attributes: { 'gorkflow.run.status': 'COMPLETED' } })
  const steps = all.filter((span) => span.name.startsWith('gorkflow.step '))
  expect(steps.map((span) => span.attributes['gorkflow.step.id']).sort()).toEqual(['add', 'format', 'multiply'])
  expect(steps.every((span) => span.parentSpanId === execution[0]?.spanId)).toBe(true)
}

it("exports a ?wait run's spans from wrangler dev in the caller's trace", async () => {
  const caller = callerTrace()
  const { status, run } = await start('/v1/workflows/sequential/runs?wait=true', caller.traceparent)
  expect(status).toBe(200)
  expect(run.status).toBe('COMPLETED')
  await expect.poll(() => engineSpans(caller.traceId).length, { timeout: 20_000, interval: 50 }).toBe(5)
  expectOneTrace(caller.traceId, caller.spanId, run.runId)
})

it("exports the spans of a run its Durable Object's alarm executed, in the start's trace", async () => {
  const caller = callerTrace()
  const { status, run } = await start('/v1/workflows/sequential/runs', caller.traceparent)
  expect(status).toBe(202)
  expect(run.status).toBe('PENDING')
  await expect.poll(() => engineSpans(caller.traceId).length, { timeout: 30_000, interval: 100 }).toBe(5)
  expectOneTrace(caller.traceId, caller.spanId, run.runId)
})
