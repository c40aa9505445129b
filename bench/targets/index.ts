/** @module Every benchmark target, in the order the table lists them. */
import { dynamodbLocalTarget } from './dynamodb-local'
import { libsqlFileTarget } from './libsql-file'
import { libsqlHttp0Target, libsqlHttp20Target } from './libsql-http'
import { memoryTarget } from './memory'
import { nodeServerTarget } from './node-server'
import type { Target } from './target'
import { wranglerApiLibsqlTarget, wranglerDevLibsqlTarget, wranglerDevMemoryTarget } from './wrangler-dev'

export const TARGETS: readonly Target[] = [
  memoryTarget,
  libsqlFileTarget,
  libsqlHttp0Target,
  libsqlHttp20Target,
  dynamodbLocalTarget,
  nodeServerTarget,
  wranglerDevLibsqlTarget,
  wranglerDevMemoryTarget,
  wranglerApiLibsqlTarget,
]

/** @throws Error naming the known ids when `id` is not one of them */
export function findTarget(id: string): Target {
  const target = TARGETS.find((t) => t.id === id)
  if (!target) throw new Error(`unknown target ${JSON.stringify(id)}; known: ${TARGETS.map((t) => t.id).join(', ')}`)
  return target
}
