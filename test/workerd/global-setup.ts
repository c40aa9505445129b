/**
 * Runs in Node before the workerd project: starts the local libSQL endpoint on a fresh migrated file and hands
 * its URL and token to the Worker's bindings (vitest.config.ts injects it), and a webhook receiver on 127.0.0.1 that
 * verifies each delivery with the `standardwebhooks` library and tells the tests what it got (`GET /received`), and
 * an OTLP/HTTP JSON trace receiver (`POST /v1/traces`, as a collector takes them) that answers `GET /spans` with the
 * spans it got. Stopped, and the libSQL folder removed, at the end.
 */
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Webhook } from 'standardwebhooks'
import type { TestProject } from 'vitest/node'
import { startTestServer } from '../support/libsql-harness'

/** The Worker's WEBHOOK_SECRET in vitest.config.ts (a test value, not a secret). */
const WORKERD_WEBHOOK_SECRET = `whsec_${Buffer.from('workerd-webhook-test-secret-32b!').toString('base64')}`

declare module 'vitest' {
  export interface ProvidedContext {
    libsqlUrl: string
    libsqlToken: string
    webhookReceiverUrl: string
    otlpReceiverUrl: string
  }
}

/** A span as the OTLP receiver hands it to the tests: ids in hex, attributes flattened. */
export interface ReceivedSpan {
  readonly name: string
  readonly traceId: string
  readonly spanId: string
  readonly parentSpanId: string | null
  readonly service: unknown
  readonly attributes: Record<string, unknown>
}

interface OtlpAttribute {
  readonly key: string
  readonly value: Record<string, unknown>
}

/** Attributes as a plain object: each OTLP AnyValue (`{ stringValue }`, `{ intValue }`, …) by its one value. */
const flatten = (list: readonly OtlpAttribute[] = []) => Object.fromEntries(list.map((a) => [a.key, Object.values(a.value)[0]]))

async function startOtlpReceiver(): Promise<{ url: string; close: () => Promise<void> }> {
  const spans: ReceivedSpan[] = []
  const server = createServer((req, res) => {
    if (req.method === 'GET') {
      res.setHeader('Content-Type', 'application/json')
      res.end(JSON.stringify({ spans }))
      return
    }
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      type Body = {
        resourceSpans?: {
          resource?: { attributes?: OtlpAttribute[] }
          scopeSpans?: { spans?: (Omit<ReceivedSpan, 'attributes' | 'service'> & { attributes?: OtlpAttribute[] })[] }[]
        }[]
      }
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Body
      for (const { resource, scopeSpans = [] } of body.resourceSpans ?? []) {
        const service = flatten(resource?.attributes)['service.name']
        for (const { spans: list = [] } of scopeSpans) {
          for (const span of list) {
            const { name, traceId, spanId, parentSpanId } = span
            spans.push({ name, traceId, spanId, parentSpanId: parentSpanId || null, service, attributes: flatten(span.attributes) })
          }
        }
      }
      res.setHeader('Content-Type', 'application/json')
      res.end('{}')
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const { server, stop } = await startTestServer()
  project.provide('libsqlUrl', server.url)
  project.provide('libsqlToken', server.token)
  const received: { runId: string | null; status: string | null; verified: boolean }[] = []
  const verifier = new Webhook(WORKERD_WEBHOOK_SECRET)
  const receiver = createServer((req, res) => {
    if (req.method === 'GET') {
      res.setHeader('Content-Type', 'application/json')
      res.end(JSON.stringify({ received }))
      return
    }
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8')
      type Payload = { run?: { runId?: string; status?: string } }
      let payload: Payload | null
      try {
        payload = verifier.verify(body, req.headers as Record<string, string>) as Payload
      } catch {
        payload = null
      }
      received.push({ runId: payload?.run?.runId ?? null, status: payload?.run?.status ?? null, verified: payload !== null })
      res.statusCode = 204
      res.end()
    })
  })
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve))
  project.provide('webhookReceiverUrl', `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`)
  const otlp = await startOtlpReceiver()
  project.provide('otlpReceiverUrl', otlp.url)
  return async () => {
    await otlp.close()
    await new Promise((resolve) => receiver.close(resolve))
    await stop()
  }
}
