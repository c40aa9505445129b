/**
 * @module GET /health: liveness, open without a token. It sends no query to the store; a store that can check
 * itself cheaply (the `file:` LibSQL store watches its database files) answers 503 with the reason when it fails.
 */
import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi'
import type { AppOptions } from '../options'
import { json } from './responses'

const StoreKind = z.enum(['memory', 'libsql', 'dynamodb'])

const health = createRoute({
  method: 'get',
  path: '/health',
  tags: ['health'],
  summary: 'Liveness; needs no token',
  responses: {
    200: json(z.object({ ok: z.literal(true), store: StoreKind }), 'The service is up'),
    503: json(
      z.object({ ok: z.literal(false), store: StoreKind, reason: z.string() }),
      'The store cannot be trusted any more (e.g. its database file was deleted): restart or replace the instance',
    ),
  },
})

export function healthRoutes({ engine }: AppOptions) {
  return new OpenAPIHono().openapi(health, (c) => {
    const reason = engine.store.healthProblem?.() ?? null
    if (reason !== null) return c.json({ ok: false as const, store: engine.store.kind, reason }, 503)
    return c.json({ ok: true as const, store: engine.store.kind }, 200)
  })
}
