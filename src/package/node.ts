/**
 * @module
 * `gorkflow/node`: `startNodeServer`, the same API and dashboard on Node (`@hono/node-server`), with the
 * embedded LibSQL file by default.
 */
export {
  DEFAULT_DATABASE_URL,
  DEFAULT_SWEEP_INTERVAL_MS,
  exitOnSignals,
  nodeOptionsFromEnv,
  startNodeServer,
  type NodeEnvOptions,
  type NodeServer,
  type NodeServerOptions,
} from '../node'
