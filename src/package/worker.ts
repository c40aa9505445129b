/**
 * @module
 * `gorkflow/worker`: `createWorker`, the Cloudflare Worker (`fetch` serves the API and the dashboard,
 * `scheduled` runs the sweeper) for your workflows. Bundles without `nodejs_compat`.
 */
export { createWorker, type StoreFactories, type WorkerEnv, type WorkerOptions } from '../runtime/create-worker'
export { ConfigurationError } from '../runtime/env-config'
