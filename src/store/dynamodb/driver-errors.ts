/**
 * @module
 * Reading the AWS SDK's errors. Checks `err.name` and plain fields, never `instanceof`, so it works across bundles
 * and duplicated SDK copies. Anything not recognised becomes `StoreUnavailableError`; raw driver errors never
 * leave the store.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb'
import { GorkflowError, isGorkflowError, StoreUnavailableError } from '../../core/errors'

/** One failed condition: which action of the request failed, and the item as it was (when asked for ALL_OLD). */
export interface ConditionFailure {
  readonly index: number
  readonly item: Record<string, AttributeValue> | undefined
}

interface CancellationReason {
  readonly Code?: string
  readonly Item?: Record<string, AttributeValue>
}

const errorName = (err: unknown): string | undefined =>
  typeof err === 'object' && err !== null && 'name' in err && typeof err.name === 'string' ? err.name : undefined

const errorMessage = (err: unknown): string =>
  typeof err === 'object' && err !== null && 'message' in err && typeof err.message === 'string'
    ? err.message
    : String(err)

function cancellationReasons(err: unknown): readonly CancellationReason[] {
  if (errorName(err) !== 'TransactionCanceledException') return []
  const reasons = (err as { CancellationReasons?: unknown }).CancellationReasons
  return Array.isArray(reasons) ? (reasons as CancellationReason[]) : []
}

/**
 * The failed conditions of a `ConditionalCheckFailedException` (one, index 0) or of a
 * `TransactionCanceledException` (each action whose reason is `ConditionalCheckFailed`); empty for anything else.
 */
export function conditionFailures(err: unknown): ConditionFailure[] {
  if (errorName(err) === 'ConditionalCheckFailedException') {
    return [{ index: 0, item: (err as { Item?: Record<string, AttributeValue> }).Item }]
  }
  return cancellationReasons(err).flatMap((reason, index) =>
    reason.Code === 'ConditionalCheckFailed' ? [{ index, item: reason.Item }] : [],
  )
}

/** Whether a transaction lost a race with another write to one of its items and may simply be retried. */
export function isTransactionConflict(err: unknown): boolean {
  const name = errorName(err)
  if (name === 'TransactionConflictException' || name === 'TransactionInProgressException') return true
  const reasons = cancellationReasons(err)
  return reasons.some((r) => r.Code === 'TransactionConflict') && !reasons.some((r) => r.Code === 'ConditionalCheckFailed')
}

/** Whether DynamoDB refused an item (or transaction) for its size: the write did not happen. */
export function isItemTooLarge(err: unknown): boolean {
  const name = errorName(err)
  if (name === 'ItemCollectionSizeLimitExceededException') return true
  if (cancellationReasons(err).some((r) => r.Code === 'ItemCollectionSizeLimitExceeded')) return true
  if (name !== 'ValidationException' && name !== 'TransactionCanceledException') return false
  return /item size|size has exceeded|exceeds? the maximum|transaction request cannot/i.test(errorMessage(err))
}

/** Turns a failure of `operation` into one of the store's typed errors. */
export function toStoreError(err: unknown, operation: string, tableName: string): Error {
  if (isGorkflowError(err)) return err
  const name = errorName(err)
  if (isItemTooLarge(err)) {
    return new GorkflowError(
      'PAYLOAD_TOO_LARGE',
      `${operation} refused by DynamoDB: an item would exceed its 400 KB item limit (${errorMessage(err)})`,
      { cause: err },
    )
  }
  if (name === 'ResourceNotFoundException') {
    return new StoreUnavailableError(
      `DynamoDB table "${tableName}" not found (${operation}); create it with ` +
        `\`npm run dynamodb:create-table -- --table ${tableName}\``,
      { cause: err },
    )
  }
  return new StoreUnavailableError(`DynamoDB ${operation} failed: ${name ?? 'Error'}: ${errorMessage(err)}`, {
    cause: err,
  })
}
