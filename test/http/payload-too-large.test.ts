/**
 * A body over the limit on the real Node server: the 413 says `Connection: close`, because the rest of the body is
 * still unread on the socket, and a keep-alive client's next request on the same pool succeeds.
 */
import { request, Agent } from 'node:http'
import { afterEach, describe, expect, it } from 'vitest'
import { silentLogger } from '../../src/core/logger'
import { startNodeServer, type NodeServer } from '../../src/node'
import { MemoryStore } from '../../src/store/memory/memory-store'

const TOKEN = 'too-large-token'
const MIB = 1024 * 1024
const START = '/v1/workflows/sequential/runs'
const OK_BODY = JSON.stringify({ input: { val1: 1, val2: 2, mult: 3 } })

let server: NodeServer | undefined
let agent: Agent | undefined

afterEach(async () => {
  agent?.destroy()
  agent = undefined
  await server?.close()
  server = undefined
})

interface Answer {
  readonly status: number
  readonly connection: string | undefined
  readonly body: string
}

/** One request through `agent`; `chunked` leaves Content-Length out, so the server only learns the size by reading. */
function send(
  s: NodeServer,
  path: string,
  body: string,
  headers: Record<string, string>,
  options: { chunked?: boolean } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${s.url}${path}`,
      {
        method: 'POST',
        agent,
        headers: { ...headers, ...(options.chunked ? {} : { 'Content-Length': String(Buffer.byteLength(body)) }) },
      },
      (res) => {
        let text = ''
        res.setEncoding('utf8')
        res.on('data', (chunk: string) => (text += chunk))
        res.on('end', () => resolve({ status: res.statusCode ?? 0, connection: res.headers.connection, body: text }))
      },
    )
    req.on('error', reject)
    req.end(body)
  })
}

const API_HEADERS = { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' }

async function startServer(): Promise<NodeServer> {
  server = await startNodeServer({ port: 0, apiTokens: [TOKEN], store: new MemoryStore(), logger: silentLogger, sweepIntervalMs: 0 })
  // One pooled socket: the second request goes down the first one's connection unless the server said it closes.
  agent = new Agent({ keepAlive: true, maxSockets: 1 })
  return server
}

describe('a body over the limit on the Node server', () => {
  it.each([
    { name: 'with a Content-Length', size: 2 * MIB, chunked: false },
    { name: 'with a Content-Length far over the limit', size: 24 * MIB, chunked: false },
    { name: 'streamed without a length', size: 2 * MIB, chunked: true },
  ])('answers 413 with Connection: close, then the next pooled request succeeds ($name)', async ({ size, chunked }) => {
    const s = await startServer()
    const big = JSON.stringify({ input: { pad: 'x'.repeat(size) } })
    const refused = await send(s, START, big, API_HEADERS, { chunked })
    expect(refused.status).toBe(413)
    expect(refused.connection).toBe('close')
    expect(JSON.parse(refused.body).error.code).toBe('PAYLOAD_TOO_LARGE')

    const next = await send(s, START, OK_BODY, API_HEADERS)
    expect(next.status).toBe(202)
    expect(next.connection).toBe('keep-alive')
    expect((await s.store.listRuns()).runs).toHaveLength(1)
  })

  it('closes the same way after a dashboard form over its limit', async () => {
    const s = await startServer()
    const form = `token=${'x'.repeat(MIB)}`
    const refused = await send(s, '/ui/sign-in', form, { 'Content-Type': 'application/x-www-form-urlencoded' })
    expect(refused.status).toBe(413)
    expect(refused.connection).toBe('close')

    const next = await send(s, START, OK_BODY, API_HEADERS)
    expect(next.status).toBe(202)
  })
})
