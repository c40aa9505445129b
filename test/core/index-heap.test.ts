import { describe, expect, it } from 'vitest'
import { IndexHeap } from '../../src/core/index-heap'

describe('IndexHeap', () => {
  it('pops items by ascending index, however they were pushed and interleaved', () => {
    const heap = new IndexHeap<{ index: number }>()
    expect(heap.pop()).toBeUndefined()
    const order = [5, 3, 9, 1, 7, 2, 8, 0, 6, 4]
    for (const index of order.slice(0, 5)) heap.push({ index })
    expect(heap.pop()?.index).toBe(1)
    expect(heap.peek()?.index).toBe(3)
    for (const index of order.slice(5)) heap.push({ index })
    const popped: number[] = []
    while (heap.size > 0) popped.push((heap.pop() as { index: number }).index)
    expect(popped).toEqual([0, 2, 3, 4, 5, 6, 7, 8, 9])
  })

  it('orders 10,000 shuffled items', () => {
    const heap = new IndexHeap<{ index: number }>()
    const indexes = Array.from({ length: 10_000 }, (_, i) => i)
    // A fixed shuffle (multiplication by a unit modulo 10,000), so the test is deterministic.
    for (const i of indexes) heap.push({ index: (i * 7_919) % 10_000 })
    const popped: number[] = []
    while (heap.size > 0) popped.push((heap.pop() as { index: number }).index)
    expect(popped).toEqual(indexes)
  })
})
