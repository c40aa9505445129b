/**
 * @module
 * DynamoDB's item-size accounting, approximated from above so a refusal happens here, before any request, rather
 * than as a half-applied write. DynamoDB counts each attribute as the UTF-8 length of its name plus its value:
 * strings by UTF-8 length, numbers by about one byte per two significant digits plus one, booleans and nulls one
 * byte, maps and lists three bytes of overhead plus one per element. We count a number as its decimal text length
 * plus one, which is never less.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb'
import { utf8Length } from '../../core/limits'

/** DynamoDB's hard limit on one item: 400 KB. */
export const DYNAMODB_ITEM_LIMIT = 400 * 1024

/** DynamoDB's hard limit on the total size of one TransactWriteItems request. */
export const DYNAMODB_TRANSACTION_LIMIT = 4 * 1024 * 1024

/** DynamoDB's limit on actions in one TransactWriteItems request. */
export const DYNAMODB_TRANSACTION_ACTIONS = 100

/** Upper bound of the bytes one attribute value occupies (without its name). */
export function valueSize(value: AttributeValue): number {
  if (value.S !== undefined) return utf8Length(value.S)
  if (value.N !== undefined) return value.N.length + 1
  if (value.BOOL !== undefined || value.NULL !== undefined) return 1
  if (value.B !== undefined) return value.B.byteLength
  if (value.L !== undefined) return 3 + value.L.reduce((sum, v) => sum + 1 + valueSize(v), 0)
  if (value.M !== undefined) return 3 + itemSize(value.M) + Object.keys(value.M).length
  if (value.SS !== undefined) return value.SS.reduce((sum, s) => sum + utf8Length(s), 0)
  if (value.NS !== undefined) return value.NS.reduce((sum, n) => sum + n.length + 1, 0)
  if (value.BS !== undefined) return value.BS.reduce((sum, b) => sum + b.byteLength, 0)
  return 1
}

/** Upper bound of an item's size as DynamoDB counts it: attribute names plus values. */
export function itemSize(item: Readonly<Record<string, AttributeValue>>): number {
  let bytes = 0
  for (const [name, value] of Object.entries(item)) bytes += utf8Length(name) + valueSize(value)
  return bytes
}
