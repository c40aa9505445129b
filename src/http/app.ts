/**
 * @module
 * The Hono app: every route, authentication, the body limit, error mapping and the OpenAPI document.
 * The same app serves the Worker (`src/worker.ts`) and Node (`src/node.ts`); entries differ only in how they
 * build the engine and how background work outlives the response.
 */
import { $, OpenAPIHono } from '@hono/zod-openapi'
import { bodyLimit } from 'hono/body-limit'
import { bearerAuth } from './auth'
import { createErrorHandler, errorResponse, HttpError, type UnhandledErrorReport } from './errors'
import { methodNotAllowed } from './method-not-allowed'
import { DEFAULT_MAX_BODY_BYTES, DEFAULT_WAIT_BUDGET_MS, type AppOptions } from './options'
import { healthRoutes } from './routes/health'
import { metricsRoutes } from './routes/metrics'
import { runsRoutes } from './routes/runs'
import { workflowsRoutes } from './routes/workflows'
import { validationHook } from './validation'

export { DEFAULT_MAX_BODY_BYTES, DEFAULT_WAIT_BUDGET_MS, type AppOptions } from './options'

/** Builds the app. Create it once per engine, not per request. */
export function createApp(options: AppOptions) {
  const logError = options.logError ?? logToConsole
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES
  const resolved: AppOptions = {
    ...options,
    waitBudgetMs: options.waitBudgetMs ?? DEFAULT_WAIT_BUDGET_MS,
    executeInBackground: (task, c) =>
      options.executeInBackground(
        task.catch((error: unknown) => logError({ event: 'http_unhandled_error', method: 'background', route: c.req.routePath, error })),
        c,
      ),
  }

  const base = new OpenAPIHono({ defaultHook: validationHook })
  base.openAPIRegistry.registerComponent('securitySchemes', 'bearerAuth', {
    type: 'http',
    scheme: 'bearer',
    description: 'One of the tokens in API_TOKEN',
  })
  const app = $(
    base
      .use('/v1/*', bearerAuth(options.apiTokens))
      .use(
        '/v1/*',
        bodyLimit({
          maxSize: maxBodyBytes,
          onError: () => {
            // The unread rest of the body is still on the connection: say it closes, so a pooling client does
            // not send its next request down a socket the server is about to drop (README, "Hostile input").
            throw new HttpError('PAYLOAD_TOO_LARGE', `the request body is over the limit of ${maxBodyBytes} bytes`, {
              Connection: 'close',
            })
          },
        }),
      ),
  )
    .route('/', healthRoutes(resolved))
    .route('/v1', workflowsRoutes(resolved))
    .route('/v1', runsRoutes(resolved))
    .route('/v1', metricsRoutes(resolved))

  app.doc31('/v1/openapi.json', {
    openapi: '3.1.0',
    info: {
      title: 'Gorkflow API',
      version: '1',
      description: 'Durable workflows at the edge. Errors are `{ "error": { "code", "message", "details"? } }`.',
    },
  })
  const allowedMethods = methodNotAllowed(app)
  app.notFound((c) => {
    const allow = allowedMethods(c.req.path)
    if (allow.length > 0) {
      return errorResponse(c, 405, 'METHOD_NOT_ALLOWED', `${c.req.method} is not allowed on ${c.req.path}`, {
        headers: { Allow: allow.join(', ') },
      })
    }
    return errorResponse(c, 404, 'NOT_FOUND', `no route for ${c.req.method} ${c.req.path}`)
  })
  app.onError(createErrorHandler(logError))
  return app
}

/** The app's type, for Hono's typed client: `hc<AppType>(baseUrl)`. */
export type AppType = ReturnType<typeof createApp>

function logToConsole(entry: UnhandledErrorReport): void {
  const error =
    entry.error instanceof Error
      ? { name: entry.error.name, message: entry.error.message, stack: entry.error.stack }
      : { message: String(entry.error) }
  console.error(JSON.stringify({ level: 'error', event: entry.event, method: entry.method, route: entry.route, error }))
}
