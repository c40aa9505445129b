/**
 * @module
 * What every DynamoDB store operation is handed: the table it talks to and the store's policies. The operations
 * are functions of this context (one module per concern), so `DynamoDBStore` itself only wires them up.
 */
import type { ItemBudget } from './item-budget'
import type { Retention } from './retention'
import type { RunHints } from './run-hints'
import type { DynamoTable } from './table'

export interface StoreContext {
  readonly table: DynamoTable
  readonly budget: ItemBudget
  readonly retention: Retention
  readonly hints: RunHints
}
