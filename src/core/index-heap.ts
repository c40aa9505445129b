/**
 * @module
 * A binary min-heap of items ordered by their `index`: the ready steps of a run, so the next one in insertion
 * order (docs/decisions.md#scheduling-order) is found in O(log n) instead of by scanning every step.
 */

export class IndexHeap<T extends { readonly index: number }> {
  readonly #items: T[] = []

  get size(): number {
    return this.#items.length
  }

  peek(): T | undefined {
    return this.#items[0]
  }

  push(item: T): void {
    const items = this.#items
    let i = items.push(item) - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      const above = items[parent] as T
      if (above.index <= item.index) break
      items[i] = above
      i = parent
    }
    items[i] = item
  }

  pop(): T | undefined {
    const items = this.#items
    const top = items[0]
    const last = items.pop()
    if (top === undefined || last === undefined || items.length === 0) return top
    let i = 0
    for (;;) {
      const left = 2 * i + 1
      if (left >= items.length) break
      const right = left + 1
      const child = right < items.length && (items[right] as T).index < (items[left] as T).index ? right : left
      if ((items[child] as T).index >= last.index) break
      items[i] = items[child] as T
      i = child
    }
    items[i] = last
    return top
  }
}
