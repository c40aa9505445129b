/** @module GET /health: liveness, open without a token. It does not touch the store. */
import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi'
import type { AppOptions } from '../options'
import { json } from './responses'

const health = createRoute({
  method: 'get',
  path: '/health',
  tags: ['health'],
  summary: 'Liveness; needs no token',
  responses: {
    200: json(
      z.object({ ok: z.literal(true), store: z.enum(['memory', 'libsql', 'dynamodb']) }),
      'The service is up',
    ),
  },
})

export function healthRoutes({ engine }: AppOptions) {
  return new OpenAPIHono().openapi(health, (c) => c.json({ ok: true as const, store: engine.store.kind }, 200))
}
