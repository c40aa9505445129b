/**
 * @module
 * The Worker of `scheduling-lag.ts`: the two ways Workers can wake something later, side by side. `POST /alarm`
 * arms a SQLite-backed Durable Object's alarm `ms` ahead; `POST /queue` sends a Queues message with
 * `delaySeconds` (whole seconds). Each records, when it fires, how late it was (`GET /results`).
 */
import type { DurableObjectNamespaceLike, DurableObjectStateLike } from '../../../src/runtime/durable-object-types'

interface Env {
  readonly TIMERS: DurableObjectNamespaceLike
  readonly RESULTS: DurableObjectNamespaceLike
  readonly PROBE_QUEUE: { send(body: unknown, options: { delaySeconds: number }): Promise<void> }
}

function record(env: Env, kind: string, due: number): Promise<Response> {
  const lagMs = Date.now() - due
  return env.RESULTS.get(env.RESULTS.idFromName('results')).fetch(
    new Request('https://results/add', { method: 'POST', body: JSON.stringify({ kind, lagMs }) }),
  )
}

export class Timer {
  readonly #state: DurableObjectStateLike
  readonly #env: Env
  constructor(state: DurableObjectStateLike, env: Env) {
    this.#state = state
    this.#env = env
  }
  async fetch(request: Request): Promise<Response> {
    const { due } = (await request.json()) as { due: number }
    await this.#state.storage.put('due', due)
    await this.#state.storage.setAlarm(due)
    return new Response(null, { status: 204 })
  }
  async alarm(): Promise<void> {
    const due = await this.#state.storage.get<number>('due')
    if (due !== undefined) await record(this.#env, 'alarm', due)
  }
}

export class Results {
  readonly #state: DurableObjectStateLike
  constructor(state: DurableObjectStateLike) {
    this.#state = state
  }
  async fetch(request: Request): Promise<Response> {
    const all = (await this.#state.storage.get<{ kind: string; lagMs: number }[]>('all')) ?? []
    if (request.method === 'GET') return Response.json(all)
    all.push((await request.json()) as { kind: string; lagMs: number })
    await this.#state.storage.put('all', all)
    return new Response(null, { status: 204 })
  }
}

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const url = new URL(request.url)
    const ms = Number(url.searchParams.get('ms') ?? '0')
    const due = Date.now() + ms
    if (url.pathname === '/alarm') {
      return env.TIMERS.get(env.TIMERS.idFromName(crypto.randomUUID())).fetch(
        new Request('https://timer/arm', { method: 'POST', body: JSON.stringify({ due }) }),
      )
    }
    if (url.pathname === '/queue') {
      await env.PROBE_QUEUE.send({ due }, { delaySeconds: Math.round(ms / 1000) })
      return new Response(null, { status: 204 })
    }
    if (url.pathname === '/results') return env.RESULTS.get(env.RESULTS.idFromName('results')).fetch(request)
    return new Response('not found', { status: 404 })
  },

  async queue(batch: { messages: { body: { due: number }; ack(): void }[] }, env: Env): Promise<void> {
    for (const message of batch.messages) {
      await record(env, 'queue', message.body.due)
      message.ack()
    }
  },
}
