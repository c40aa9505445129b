import { describe, expect, it } from 'vitest'
import { PayloadTooLargeError } from '../../../src/core/errors'
import { isValidMaxItemBytes, ItemBudget, MIN_MAX_ITEM_BYTES, payloadBytesOf } from '../../../src/store/dynamodb/item-budget'
import { DYNAMODB_ITEM_LIMIT, DYNAMODB_TRANSACTION_LIMIT, itemSize } from '../../../src/store/dynamodb/item-size'
import { MUTABLE_SCALARS_RESERVE, RUN, type Item } from '../../../src/store/dynamodb/mappers'

const MAX = 10_000

/** An item of exactly `bytes` bytes as DynamoDB counts them: attribute `a` (1 byte) and a string of bytes - 1. */
const itemOf = (bytes: number): Item => ({ a: { S: 'x'.repeat(bytes - 1) } })

describe('ItemBudget.check', () => {
  it('accepts an item of exactly the budget and refuses one byte more with PAYLOAD_TOO_LARGE', () => {
    const budget = new ItemBudget(MAX)
    expect(itemSize(itemOf(MAX))).toBe(MAX)
    expect(() => budget.check('run r1', itemOf(MAX))).not.toThrow()
    const refusal = (() => {
      try {
        budget.check('run r1', itemOf(MAX + 1))
      } catch (err) {
        return err
      }
      return null
    })()
    expect(refusal).toBeInstanceOf(PayloadTooLargeError)
    expect(refusal).toMatchObject({ code: 'PAYLOAD_TOO_LARGE', details: { size: MAX + 1, limit: MAX } })
  })
})

describe('ItemBudget.commitAllowance', () => {
  it('leaves the budget less the scalar reserve and the payload for the run item fixed part', () => {
    const budget = new ItemBudget(MAX)
    expect(budget.commitAllowance('r1', 0)).toBe(MAX - MUTABLE_SCALARS_RESERVE)
    expect(budget.commitAllowance('r1', 100)).toBe(MAX - MUTABLE_SCALARS_RESERVE - 100)
    expect(budget.commitAllowance('r1', MAX - MUTABLE_SCALARS_RESERVE)).toBe(0)
  })

  it('refuses a payload that does not fit even with an empty fixed part', () => {
    const budget = new ItemBudget(MAX)
    expect(() => budget.commitAllowance('r1', MAX - MUTABLE_SCALARS_RESERVE + 1)).toThrow(PayloadTooLargeError)
  })
})

describe('ItemBudget.commitOverflow', () => {
  it("is null while the old item's fixed part plus the payload fits, and a refusal one byte beyond", () => {
    const budget = new ItemBudget(MAX)
    // Mutable attributes (here: output) do not count towards the fixed part.
    const old: Item = { ...itemOf(1000), [RUN.output]: { S: 'y'.repeat(5000) } }
    const fits = MAX - MUTABLE_SCALARS_RESERVE - 1000
    expect(budget.commitOverflow('r1', old, fits)).toBeNull()
    expect(budget.commitOverflow('r1', old, fits + 1)).toBeInstanceOf(PayloadTooLargeError)
  })
})

describe('ItemBudget.checkCommitTransaction', () => {
  it('accepts a commit without steps whatever the budget', () => {
    expect(() => new ItemBudget(DYNAMODB_ITEM_LIMIT).checkCommitTransaction('r1', [])).not.toThrow()
  })

  it("refuses steps that, with a run item of the budget's size, could exceed DynamoDB's 4 MB transaction", () => {
    const budget = new ItemBudget(MAX)
    const room = DYNAMODB_TRANSACTION_LIMIT - MAX
    const steps = [itemOf(room / 2), itemOf(room / 2)]
    expect(() => budget.checkCommitTransaction('r1', steps)).not.toThrow()
    expect(() => budget.checkCommitTransaction('r1', [...steps, itemOf(2)])).toThrow(PayloadTooLargeError)
  })
})

describe('payloadBytesOf', () => {
  it('counts name and text of each attribute set, and nothing for null or undefined', () => {
    expect(payloadBytesOf([])).toBe(0)
    expect(payloadBytesOf([['output', { S: '"é"' }]])).toBe('output'.length + 4)
    expect(payloadBytesOf([['output', { S: '1' }], ['error', null], ['waitingFor', undefined]])).toBe(7)
  })
})

describe('isValidMaxItemBytes', () => {
  it(`accepts integers from ${MIN_MAX_ITEM_BYTES} to DynamoDB's item limit only`, () => {
    expect([MIN_MAX_ITEM_BYTES, DYNAMODB_ITEM_LIMIT].map(isValidMaxItemBytes)).toEqual([true, true])
    expect([MIN_MAX_ITEM_BYTES - 1, DYNAMODB_ITEM_LIMIT + 1, 5000.5, Number.NaN].map(isValidMaxItemBytes)).toEqual([
      false,
      false,
      false,
      false,
    ])
  })
})
