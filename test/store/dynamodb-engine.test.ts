import { vi } from 'vitest'
import { runDurabilityCases } from '../core/durability.cases'
import { runDurabilityModeCases } from '../core/durability-modes.cases'
import { runEngineCases } from '../core/engine.cases'
import { runScheduleCases } from '../core/schedule.cases'
import { runVersionCases } from '../core/versions.cases'
import { runChildCases } from '../core/children.cases'
import { runMapCases } from '../core/map.cases'
import { runWaitCases } from '../core/waits.cases'
import { useDynamoDBLocal } from '../support/dynamodb-harness'

// The sweeper race sends about 1,100 requests to DynamoDB Local (100 runs, 3 engines): 23 s on an idle
// 2-core machine, over a minute on a loaded one. The full scale is kept, so the timeout is raised instead.
vi.setConfig({ testTimeout: 180_000 })

const dynamo = useDynamoDBLocal()

runEngineCases('DynamoDBStore on DynamoDB Local', () => dynamo.harness())
runWaitCases('DynamoDBStore on DynamoDB Local', () => dynamo.harness())
runVersionCases('DynamoDBStore on DynamoDB Local', () => dynamo.harness())
runChildCases('DynamoDBStore on DynamoDB Local', () => dynamo.harness())
runMapCases('DynamoDBStore on DynamoDB Local', () => dynamo.harness())
runDurabilityCases('DynamoDBStore on DynamoDB Local', () => dynamo.harness())
runDurabilityModeCases('DynamoDBStore on DynamoDB Local', () => dynamo.harness())
runScheduleCases('DynamoDBStore on DynamoDB Local', () => dynamo.harness())
