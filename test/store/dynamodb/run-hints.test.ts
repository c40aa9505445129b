import { describe, expect, it } from 'vitest'
import { RunHints } from '../../../src/store/dynamodb/run-hints'

const slot = { workflowId: 'w', resourceId: 'acct-1', limit: 2 }

describe('RunHints', () => {
  it('tells the held slot only of a run remembered as holding it', () => {
    const hints = new RunHints()
    hints.remember('r1', { status: 'RUNNING', slot, held: true })
    hints.remember('r2', { status: null, slot, held: false })
    expect(hints.heldSlot('r1')).toEqual(slot)
    expect(hints.heldSlot('r2')).toBeNull()
    expect(hints.heldSlot('unknown')).toBeNull()
  })

  it('forgets the least recently remembered run beyond its capacity', () => {
    const hints = new RunHints(2)
    hints.remember('r1', { status: 'RUNNING', slot: null, held: false })
    hints.remember('r2', { status: 'RUNNING', slot: null, held: false })
    // Remembering r1 again makes r2 the oldest.
    hints.remember('r1', { status: 'PAUSED', slot: null, held: false })
    hints.remember('r3', { status: 'PENDING', slot: null, held: false })
    expect(hints.get('r2')).toBeUndefined()
    expect(hints.get('r1')?.status).toBe('PAUSED')
    expect(hints.get('r3')?.status).toBe('PENDING')
  })

  it('updates the status of a known run only, and forgets on request', () => {
    const hints = new RunHints()
    hints.rememberStatus('r1', 'PAUSED')
    expect(hints.get('r1')).toBeUndefined()
    hints.remember('r1', { status: 'RUNNING', slot, held: true })
    hints.rememberStatus('r1', 'PAUSED')
    expect(hints.get('r1')).toEqual({ status: 'PAUSED', slot, held: true })
    hints.forget('r1')
    expect(hints.get('r1')).toBeUndefined()
  })
})
