/**
 * Runs in Node before the workerd project: starts the local libSQL endpoint on a fresh migrated file and hands
 * its URL and token to the Worker's bindings (vitest.config.ts injects it), and a webhook receiver on 127.0.0.1 that
 * verifies each delivery with the `standardwebhooks` library and tells the tests what it got (`GET /received`).
 * Stopped, and the libSQL folder removed, at the end.
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
  return async () => {
    await new Promise((resolve) => receiver.close(resolve))
    await stop()
  }
}
