/**
 * @module
 * The store's size budget for items: every write is refused with PAYLOAD_TOO_LARGE here, before any request,
 * when an item or a transaction would not fit, rather than becoming a half-applied write or a driver error.
 * A commit cannot see the run item it updates, so its budget is split: this module bounds what the commit adds,
 * and the commit's condition bounds the run's fixed part (its `baseBytes` attribute) by the allowance left.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb'
import { PayloadTooLargeError } from '../../core/errors'
import { utf8Length } from '../../core/limits'
import { DYNAMODB_ITEM_LIMIT, DYNAMODB_TRANSACTION_LIMIT, itemSize } from './item-size'
import { fixedRunBytes, MUTABLE_SCALARS_RESERVE, type Item } from './mappers'

/** Default of `DynamoDBStoreOptions.maxItemBytes`. */
export const DEFAULT_MAX_ITEM_BYTES = 350_000
/** Bounds of `DynamoDBStoreOptions.maxItemBytes`. */
export const MIN_MAX_ITEM_BYTES = 4096

/** An attribute a commit sets: its name and value; null or undefined when the commit sets none. */
export type CommitAttribute = readonly [name: string, value: AttributeValue | null | undefined]

export class ItemBudget {
  /** Largest item the store writes, in bytes. */
  readonly maxItemBytes: number

  constructor(maxItemBytes: number) {
    this.maxItemBytes = maxItemBytes
  }

  /** @throws PayloadTooLargeError when `item` exceeds the budget */
  check(what: string, item: Item): void {
    const size = itemSize(item)
    if (size > this.maxItemBytes) throw new PayloadTooLargeError(what, size, this.maxItemBytes)
  }

  /**
   * The largest `baseBytes` (fixed part) a run item may have for this commit to fit: the budget less the
   * reserve for scalars and the payload this commit adds.
   * @throws PayloadTooLargeError when the payload alone does not fit
   */
  commitAllowance(runId: string, payloadBytes: number): number {
    const allowance = this.maxItemBytes - MUTABLE_SCALARS_RESERVE - payloadBytes
    if (allowance < 0) {
      throw new PayloadTooLargeError(`run ${runId} after this commit`, payloadBytes + MUTABLE_SCALARS_RESERVE, this.maxItemBytes)
    }
    return allowance
  }

  /**
   * DynamoDB caps a transaction's items at 4 MB in total; the run item counts as its largest allowed size.
   * @throws PayloadTooLargeError when the steps of a commit and its run item could exceed it
   */
  checkCommitTransaction(runId: string, stepItems: readonly Item[]): void {
    if (stepItems.length === 0) return
    const transactionBytes = stepItems.reduce((sum, item) => sum + itemSize(item), 0)
    if (transactionBytes + this.maxItemBytes > DYNAMODB_TRANSACTION_LIMIT) {
      throw new PayloadTooLargeError(
        `commit of run ${runId} (${stepItems.length} steps)`,
        transactionBytes,
        DYNAMODB_TRANSACTION_LIMIT - this.maxItemBytes,
      )
    }
  }

  /** The refusal of a commit whose condition failed on size: null when `old` plus the payload fits. */
  commitOverflow(runId: string, old: Item, payloadBytes: number): PayloadTooLargeError | null {
    const size = fixedRunBytes(old) + payloadBytes + MUTABLE_SCALARS_RESERVE
    return size > this.maxItemBytes ? new PayloadTooLargeError(`run ${runId} after this commit`, size, this.maxItemBytes) : null
  }
}

/** Whether `maxItemBytes` is a budget DynamoDB can honour (below its 400 KB item limit) and useful. */
export function isValidMaxItemBytes(maxItemBytes: number): boolean {
  return Number.isSafeInteger(maxItemBytes) && maxItemBytes >= MIN_MAX_ITEM_BYTES && maxItemBytes <= DYNAMODB_ITEM_LIMIT
}

/** Bytes string attributes add to the run item beyond its fixed part: name plus text of each one set. */
export function payloadBytesOf(attributes: readonly CommitAttribute[]): number {
  let bytes = 0
  for (const [name, value] of attributes) {
    if (value) bytes += utf8Length(name) + utf8Length(value.S ?? '')
  }
  return bytes
}
