/** @module Every benchmark target, in the order the table lists them. */
import { cfWorkflowsTarget } from './cf-workflows'
import { dynamodbLocalTarget } from './dynamodb-local'
import { libsqlFilePipelinedTarget, libsqlFileTarget } from './libsql-file'
import {
  libsqlHttp0PipelinedTarget,
  libsqlHttp0Target,
  libsqlHttp20PipelinedTarget,
  libsqlHttp20Target,
} from './libsql-http'
import { memoryPipelinedTarget, memoryTarget } from './memory'
import { nodeServerTarget } from './node-server'
import type { Target } from './target'
import {
  wranglerApiLibsqlPipelinedTarget,
  wranglerApiLibsqlTarget,
  wranglerDevLibsqlPipelinedTarget,
  wranglerDevLibsqlTarget,
  wranglerDevMemoryTarget,
} from './wrangler-dev'

export const TARGETS: readonly Target[] = [
  memoryTarget,
  memoryPipelinedTarget,
  libsqlFileTarget,
  libsqlFilePipelinedTarget,
  libsqlHttp0Target,
  libsqlHttp0PipelinedTarget,
  libsqlHttp20Target,
  libsqlHttp20PipelinedTarget,
  dynamodbLocalTarget,
  nodeServerTarget,
  wranglerDevLibsqlTarget,
  wranglerDevLibsqlPipelinedTarget,
  wranglerDevMemoryTarget,
  wranglerApiLibsqlTarget,
  wranglerApiLibsqlPipelinedTarget,
  cfWorkflowsTarget,
]

/** @throws Error naming the known ids when `id` is not one of them */
export function findTarget(id: string): Target {
  const target = TARGETS.find((t) => t.id === id)
  if (!target) throw new Error(`unknown target ${JSON.stringify(id)}; known: ${TARGETS.map((t) => t.id).join(', ')}`)
  return target
}
