/**
 * Three projects in one `vitest run`:
 * - node: everything under test/ except the two below (forks, so native engines and servers are isolated);
 * - workerd: the Worker inside workerd (`@cloudflare/vitest-pool-workers`), against a local libSQL endpoint
 *   that test/workerd/global-setup.ts starts in Node and hands in through `provide`/`inject`;
 * - workerd-otel: the Worker wrapped by `@microlabs/otel-cf-workers` (examples/worker-tracing.ts), with
 *   `nodejs_compat` as that library needs, exporting spans to the OTLP receiver of the same global setup;
 * - e2e: the real `npm run dev` stack (wrangler dev) driven over HTTP.
 */
import { cloudflareTest } from '@cloudflare/vitest-pool-workers'
import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    projects: [
      {
        extends: true,
        test: {
          name: 'node',
          include: ['test/**/*.test.ts'],
          exclude: ['**/node_modules/**', 'test/workerd/**', 'test/workerd-otel/**', 'test/e2e/**'],
          pool: 'forks',
        },
      },
      {
        extends: true,
        plugins: [
          cloudflareTest(({ inject }) => ({
            // src/worker.ts's Worker with a test workflow added (long-steps).
            main: './test/workerd/worker-entry.ts',
            wrangler: { configPath: './wrangler.toml' },
            miniflare: {
              bindings: {
                STORE: 'libsql',
                TURSO_DATABASE_URL: inject('libsqlUrl'),
                TURSO_AUTH_TOKEN: inject('libsqlToken'),
                // A test binding, not a secret; the tests read it back from `env`.
                API_TOKEN: 'workerd-test-token',
                LOG_LEVEL: 'warn',
                // Production's waitUntil cut-off made visible (src/runtime/wait-until-guard.ts), scaled down with
                // the alarms' execution budget, so steps of a few seconds outlast both.
                WAIT_UNTIL_LIMIT_MS: '1000',
                BACKGROUND_BUDGET_MS: '1000',
                // Completion webhooks to the receiver of test/workerd/global-setup.ts on 127.0.0.1 (test values).
                WEBHOOK_SECRET: `whsec_${Buffer.from('workerd-webhook-test-secret-32b!').toString('base64')}`,
                WEBHOOK_ALLOW_PRIVATE: '1',
                WEBHOOK_RECEIVER_URL: inject('webhookReceiverUrl'),
              },
            },
          })),
        ],
        test: {
          name: 'workerd',
          include: ['test/workerd/**/*.test.ts'],
          globalSetup: ['test/workerd/global-setup.ts'],
        },
      },
      {
        extends: true,
        plugins: [
          cloudflareTest(({ inject }) => ({
            main: './test/workerd-otel/worker-entry.ts',
            wrangler: { configPath: './wrangler.toml' },
            miniflare: {
              compatibilityFlags: ['nodejs_compat'],
              bindings: {
                STORE: 'libsql',
                TURSO_DATABASE_URL: inject('libsqlUrl'),
                TURSO_AUTH_TOKEN: inject('libsqlToken'),
                API_TOKEN: 'workerd-otel-test-token',
                LOG_LEVEL: 'warn',
                OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${inject('otlpReceiverUrl')}/v1/traces`,
                OTLP_RECEIVER_URL: inject('otlpReceiverUrl'),
              },
            },
          })),
        ],
        test: {
          name: 'workerd-otel',
          include: ['test/workerd-otel/**/*.test.ts'],
          globalSetup: ['test/workerd/global-setup.ts'],
        },
      },
      {
        extends: true,
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          pool: 'forks',
          testTimeout: 60_000,
        },
      },
    ],
  },
})
