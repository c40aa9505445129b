/**
 * @module
 * A small builder for DynamoDB expressions. Every attribute name goes through a `#placeholder` (so reserved words
 * such as `status`, `ttl`, `input`, `key` never matter) and every value through a `:placeholder`.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb'

export class Expression {
  readonly #names = new Map<string, string>()
  readonly #values: Record<string, AttributeValue> = {}
  #valueCount = 0

  /** Placeholder of an attribute name (`#a0`), the same for repeated names. */
  name(attribute: string): string {
    let placeholder = this.#names.get(attribute)
    if (placeholder === undefined) {
      placeholder = `#a${this.#names.size}`
      this.#names.set(attribute, placeholder)
    }
    return placeholder
  }

  /** Placeholder of a value (`:v0`). */
  value(value: AttributeValue): string {
    const placeholder = `:v${this.#valueCount++}`
    this.#values[placeholder] = value
    return placeholder
  }

  /** `#status IN (:v0, :v1)` */
  in(attribute: string, values: readonly string[]): string {
    return `${this.name(attribute)} IN (${values.map((v) => this.value({ S: v })).join(', ')})`
  }

  /** The request fields for the placeholders used so far (omitted when empty, as DynamoDB requires). */
  attributes(): {
    ExpressionAttributeNames?: Record<string, string>
    ExpressionAttributeValues?: Record<string, AttributeValue>
  } {
    const out: ReturnType<Expression['attributes']> = {}
    if (this.#names.size > 0) {
      out.ExpressionAttributeNames = Object.fromEntries([...this.#names].map(([name, ph]) => [ph, name]))
    }
    if (this.#valueCount > 0) out.ExpressionAttributeValues = { ...this.#values }
    return out
  }
}

/** SET/REMOVE/ADD clauses of an update expression, collected then rendered once. */
export class UpdateClauses {
  readonly #set: string[] = []
  readonly #remove: string[] = []
  readonly #add: string[] = []

  constructor(readonly expr: Expression) {}

  set(attribute: string, value: AttributeValue): this {
    this.#set.push(`${this.expr.name(attribute)} = ${this.expr.value(value)}`)
    return this
  }

  /** `#attribute = <operand>`, the operand already rendered with this clause's expression (a function, a path). */
  setOperand(attribute: string, operand: string): this {
    this.#set.push(`${this.expr.name(attribute)} = ${operand}`)
    return this
  }

  remove(attribute: string): this {
    this.#remove.push(this.expr.name(attribute))
    return this
  }

  /** SET when `value` is given, REMOVE when it is null. */
  setOrRemove(attribute: string, value: AttributeValue | null): this {
    return value === null ? this.remove(attribute) : this.set(attribute, value)
  }

  /** `ADD #attribute :value`: adds the members of a set value (creating the set when absent). */
  add(attribute: string, value: AttributeValue): this {
    this.#add.push(`${this.expr.name(attribute)} ${this.expr.value(value)}`)
    return this
  }

  render(): string {
    const parts: string[] = []
    if (this.#set.length > 0) parts.push(`SET ${this.#set.join(', ')}`)
    if (this.#remove.length > 0) parts.push(`REMOVE ${this.#remove.join(', ')}`)
    if (this.#add.length > 0) parts.push(`ADD ${this.#add.join(', ')}`)
    return parts.join(' ')
  }
}
