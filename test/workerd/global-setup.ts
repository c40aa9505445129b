/**
 * Runs in Node before the workerd project: starts the local libSQL endpoint on a fresh migrated file and hands
 * its URL and token to the Worker's bindings (vitest.config.ts injects it). Stopped, and its folder removed, at the end.
 */
import type { TestProject } from 'vitest/node'
import { startTestServer } from '../support/libsql-harness'

declare module 'vitest' {
  export interface ProvidedContext {
    libsqlUrl: string
    libsqlToken: string
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const { server, stop } = await startTestServer()
  project.provide('libsqlUrl', server.url)
  project.provide('libsqlToken', server.token)
  return stop
}
