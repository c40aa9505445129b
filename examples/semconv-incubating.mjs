// otel-cf-workers 1.0.0-rc.52 imports ATTR_FAAS_TIME from @opentelemetry/semantic-conventions/incubating, which
// 1.45 no longer exports: wrangler's bundler refuses the build ("No matching export"). Aliased in its place by
// examples/wrangler.tracing.toml, this module is the real one plus that constant.
export * from '../node_modules/@opentelemetry/semantic-conventions/dist/index-incubating.mjs'
export const ATTR_FAAS_TIME = 'faas.time'
