import { runDurabilityCases } from '../core/durability.cases'
import { runEngineCases } from '../core/engine.cases'
import { useDynamoDBLocal } from '../support/dynamodb-harness'

const dynamo = useDynamoDBLocal()

runEngineCases('DynamoDBStore on DynamoDB Local', () => dynamo.harness())
runDurabilityCases('DynamoDBStore on DynamoDB Local', () => dynamo.harness())
