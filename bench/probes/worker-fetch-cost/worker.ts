/**
 * @module
 * The Worker of bench/probes/worker-fetch-cost.ts. `POST /probe?n=N` with headers `x-endpoint` (the local libSQL
 * endpoint's URL) and `x-endpoint-token` makes N sequential Hrana requests (`execute SELECT 1`, `close`: one
 * round trip, as each store call over HTTP is) and answers `{ n, ms }`, the time they took inside workerd. In
 * workerd the clock advances only across I/O, which is exactly what is timed here.
 */

/** Most requests one probe may make. */
const MAX_REQUESTS = 10_000

const BODY = JSON.stringify({ requests: [{ type: 'execute', stmt: { sql: 'SELECT 1' } }, { type: 'close' }] })

export default {
  async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url)
    if (url.pathname === '/health') return new Response('ok')
    const n = Number(url.searchParams.get('n'))
    const endpoint = request.headers.get('x-endpoint')
    if (request.method !== 'POST' || url.pathname !== '/probe' || endpoint === null) {
      return Response.json({ error: 'POST /probe?n=N with an x-endpoint header' }, { status: 400 })
    }
    if (!Number.isSafeInteger(n) || n < 0 || n > MAX_REQUESTS) {
      return Response.json({ error: `n must be an integer from 0 to ${MAX_REQUESTS}` }, { status: 400 })
    }
    const headers = { authorization: `Bearer ${request.headers.get('x-endpoint-token') ?? ''}`, 'content-type': 'application/json' }
    const start = Date.now()
    for (let i = 0; i < n; i++) {
      const res = await fetch(`${endpoint}/v2/pipeline`, { method: 'POST', headers, body: BODY })
      if (!res.ok) return Response.json({ error: `the endpoint answered ${res.status}` }, { status: 502 })
      await res.arrayBuffer()
    }
    return Response.json({ n, ms: Date.now() - start })
  },
}
